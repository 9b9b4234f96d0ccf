"""course.generation: stepping a model chunk by chunk equals running it whole; the
one-to-many loop against a naive loop that rereads the whole prefix every step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course.generation import RecurrentStepper, generate, greedy

V, E, H = 11, 4, 6


def language_model(kinds=("GRU", "GRU"), dropout=0.2, seed=0):
    keras.utils.set_random_seed(seed)
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(V, E)(ids)
    for kind in kinds:
        x = getattr(keras.layers, kind)(H, return_sequences=True)(x)
        x = keras.layers.Dropout(dropout)(x)
    model = keras.Model(ids, keras.layers.Dense(V)(x))
    # Random biases too, so that a lost bias row or state would show.
    model.set_weights([np.random.default_rng(seed).normal(size=w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])
    return model


def token_ids(batch, length, seed=1):
    return np.random.default_rng(seed).integers(0, V, size=(batch, length)).astype("int32")


@pytest.mark.parametrize("kinds", [("GRU", "GRU"), ("LSTM",), ("SimpleRNN", "GRU", "LSTM")])
def test_stepping_in_chunks_matches_the_whole_sequence(kinds):
    model = language_model(kinds)
    ids = token_ids(3, 9)
    whole = model(ids, training=False).numpy()  # (B, T, V)
    stepper = RecurrentStepper(model)
    logits, states = stepper(ids[:, :4])  # a prompt of 4 tokens
    pieces = [logits.numpy()]
    for t in range(4, 9):  # then one token at a time, carrying the states
        logits, states = stepper(ids[:, t:t + 1], states)
        pieces.append(logits.numpy())
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=1e-5, atol=1e-5)


def test_states_carry_the_context():
    model = language_model()
    stepper = RecurrentStepper(model)
    ids = token_ids(2, 6)
    _, states = stepper(ids[:, :5])
    with_context = stepper(ids[:, 5:], states)[0].numpy()
    fresh = stepper(ids[:, 5:])[0].numpy()
    assert np.abs(with_context - fresh).max() > 1e-3


def naive_generate(model, prompt, num_steps, choose):
    """Reference: rerun the whole model on the growing text at every step."""
    text = np.array(prompt, dtype=np.int32)
    new = []
    for step in range(num_steps):
        logits = model(text, training=False).numpy()[:, -1, :].astype(np.float64)  # (B, V)
        ids = choose(logits, step)
        new.append(ids)
        text = np.concatenate([text, ids[:, None].astype(np.int32)], axis=1)
    return np.stack(new, axis=1)


def inverse_cdf_sampler(seed, temperature=1.0):
    def sample(logits, step):
        z = logits / temperature
        p = np.exp(z - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        u = np.random.default_rng(seed + step).random(len(p))
        return np.minimum((np.cumsum(p, axis=-1) <= u[:, None]).sum(axis=-1), p.shape[-1] - 1)
    return sample


def test_greedy_generation_matches_the_naive_loop():
    model = language_model(("GRU", "LSTM"))
    prompt = token_ids(2, 5)
    ours = generate(RecurrentStepper(model), prompt, 12, lambda logits, step: greedy(logits))
    reference = naive_generate(model, prompt, 12, lambda logits, step: np.argmax(logits, axis=-1))
    assert ours.shape == (2, 12) and ours.dtype == np.int64
    np.testing.assert_array_equal(ours, reference)


def test_sampled_generation_matches_the_naive_loop_and_is_reproducible():
    model = language_model()
    prompt = token_ids(3, 4, seed=7)
    sampler = inverse_cdf_sampler(seed=42, temperature=1.5)
    first = generate(RecurrentStepper(model), prompt, 20, sampler)
    np.testing.assert_array_equal(first, generate(RecurrentStepper(model), prompt, 20, sampler))
    np.testing.assert_array_equal(first, naive_generate(model, prompt, 20, sampler))
    other = generate(RecurrentStepper(model), prompt, 20, inverse_cdf_sampler(seed=43, temperature=1.5))
    assert (other != first).any()


def test_suppressed_ids_are_never_written():
    model = language_model()
    prompt = token_ids(4, 3)
    favourite = greedy(model(prompt, training=False).numpy()[:, -1, :])
    out = generate(RecurrentStepper(model), prompt, 15, lambda logits, step: greedy(logits),
                   suppress_ids=list(range(V - 1)))
    assert (out == V - 1).all()
    assert generate(RecurrentStepper(model), prompt, 1, lambda logits, step: greedy(logits))[:, 0].tolist() \
        == favourite.tolist()


def test_zero_steps_and_one_step():
    model = language_model()
    stepper = RecurrentStepper(model)
    assert generate(stepper, [[1, 2]], 0, lambda logits, step: greedy(logits)).shape == (1, 0)
    assert generate(stepper, [[1, 2]], 1, lambda logits, step: greedy(logits)).shape == (1, 1)


def test_greedy_picks_the_largest_logit():
    np.testing.assert_array_equal(greedy([[0.1, 3.0, -1.0], [5.0, 4.0, 4.5]]), [1, 0])
    with pytest.raises(ValueError, match=r"\(B, V\)"):
        greedy([1.0, 2.0])


def test_stepper_rejects_models_it_cannot_step():
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(V, E)(ids)
    last_only = keras.Model(ids, keras.layers.Dense(V)(keras.layers.GRU(H)(x)))
    with pytest.raises(ValueError, match="return_sequences=True"):
        RecurrentStepper(last_only)
    no_embedding = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(H, return_sequences=True),
                                     keras.layers.Dense(V)])
    with pytest.raises(ValueError, match="Embedding, then GRU"):
        RecurrentStepper(no_embedding)
    with pytest.raises(TypeError, match="keras.Model"):
        RecurrentStepper(keras.layers.GRU(H))


def test_generate_rejects_bad_arguments():
    stepper = RecurrentStepper(language_model())
    choose = lambda logits, step: greedy(logits)  # noqa: E731
    with pytest.raises(ValueError, match=r"shape \(B, P\)"):
        generate(stepper, [1, 2, 3], 5, choose)
    with pytest.raises(ValueError, match=r"shape \(B, P\)"):
        generate(stepper, np.zeros((2, 0), np.int32), 5, choose)
    with pytest.raises(ValueError, match="num_steps"):
        generate(stepper, [[1, 2]], -1, choose)
    with pytest.raises(ValueError, match="2 integer ids"):
        generate(stepper, [[1, 2], [3, 4]], 3, lambda logits, step: np.array([0]))
    with pytest.raises(ValueError, match="outside"):
        generate(stepper, [[1, 2]], 3, lambda logits, step: np.array([V]))
    with pytest.raises(ValueError, match="one entry per recurrent layer"):
        stepper(np.array([[1]]), [tf.zeros((1, H))])
