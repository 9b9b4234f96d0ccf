"""Sequence modelling with Keras and TensorFlow: the library the course notebooks import.

Subpackages and modules are imported on demand (`from course.rnn import ScanGRU`),
so `import course` stays cheap.
"""

__version__ = "0.1.0"
