"""What is specific to one lesson; everything general is in `course` by kind (data, layers, metrics, plots)."""
