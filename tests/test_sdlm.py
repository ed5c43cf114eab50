"""SDLM (LeCun et al. 1998, Appendix C): the per-parameter Gauss-Newton diagonal against a brute
force computation, the step rule, and a short training run of the faithful model through the engine."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from lenet import data, experiments, models, sdlm, study, train


def images(n, seed=0):
    rng = np.random.default_rng(seed)
    return data.preprocess(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), 32, "background", "lecun")


def brute_force_diagonal(model, x):
    """The same diagonal recursion from each layer's dense Jacobians, knowing nothing of layer types:
    for a layer o = g(x; theta), h(x) = (dO/dx)^2' h(o) and h(theta) = (dO/dtheta)^2' h(o), starting
    from the RBF penalty's curvature 2 at F6; one pattern at a time, then averaged."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert isinstance(layers[-1], models.EuclideanRBF)
    totals = {id(w): np.zeros(w.shape) for w in model.trainable_variables}
    for pattern in x:
        inputs, out = [], tf.constant(pattern[None])
        for layer in layers[:-1]:
            inputs.append(out)
            out = layer(out)
        h = np.full(int(np.prod(out.shape)), 2.0)
        for layer, layer_in in zip(reversed(layers[:-1]), reversed(inputs)):
            weights = list(layer.trainable_weights)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(layer_in)
                flat = tf.reshape(layer(layer_in), [-1])
            jac_x = tape.jacobian(flat, layer_in).numpy().reshape(len(h), -1)
            for w in weights:
                jac_w = tape.jacobian(flat, w).numpy().reshape(len(h), -1)
                totals[id(w)] += ((jac_w ** 2).T @ h).reshape(w.shape)
            h = (jac_x ** 2).T @ h
    return [totals[id(w)] / len(x) for w in model.trainable_variables]


@pytest.mark.parametrize("subsampling", ["sum", "average", "pool"])
def test_gauss_newton_diagonal_matches_brute_force(subsampling):
    keras.utils.set_random_seed(1)
    model = models.build_lecun1998(subsampling)
    # weights away from the initialisation, so that every squashing works off its linear part
    rng = np.random.default_rng(0)
    for w in model.trainable_variables:
        if "bias" in w.path:
            w.assign(rng.uniform(-0.8, 0.8, w.shape))
        elif "coefficient" in w.path:
            w.assign(rng.uniform(0.3, 0.6, w.shape))
        else:
            w.assign(w * 2.0)
    x = images(2)
    fast = sdlm.gauss_newton_diagonal(model, x)
    slow = brute_force_diagonal(model, x)
    assert len(fast) == len(slow) == len(model.trainable_variables)
    for w, f, s in zip(model.trainable_variables, fast, slow):
        assert f.shape == s.shape, w.path
        np.testing.assert_allclose(f.numpy(), s, rtol=1e-4, atol=1e-6 * np.abs(s).max(), err_msg=w.path)
        assert (f.numpy() >= 0).all()


def test_f6_bias_curvature_by_hand():
    """At F6, h(b_k) = 2 f'(a_k)^2 averaged over patterns, with f the scaled tanh."""
    keras.utils.set_random_seed(2)
    model = models.build_lecun1998()
    x = images(5, seed=3)
    f6_input = keras.Model(model.input, model.get_layer("flatten").output)(x)
    f6 = model.get_layer("F6")
    a = f6_input.numpy() @ f6.kernel.numpy() + f6.bias.numpy()
    slope = models.LECUN_A * models.LECUN_S * (1 - np.tanh(models.LECUN_S * a) ** 2)
    h = sdlm.gauss_newton_diagonal(model, x)
    index = [w.path for w in model.trainable_variables].index(f6.bias.path)
    np.testing.assert_allclose(h[index].numpy(), (2 * slope ** 2).mean(0), rtol=1e-5)


def test_softmax_output_curvature_is_p_one_minus_p():
    keras.utils.set_random_seed(4)
    model = models.build_lecun1998(output="softmax")
    x = images(4, seed=5)
    p = model(x).numpy()
    h = sdlm.gauss_newton_diagonal(model, x)
    np.testing.assert_allclose(h[-1].numpy(), (p * (1 - p)).mean(0), rtol=1e-5)


def test_step_is_eta_over_mu_plus_h():
    keras.utils.set_random_seed(5)
    model = models.build_lecun1998()
    optimizer = sdlm.SDLM(model, learning_rate=5e-4)
    x = images(8, seed=6)
    h = optimizer.estimate(x)
    before = [w.numpy().copy() for w in model.trainable_variables]
    grads = [tf.ones_like(w) * 0.5 for w in model.trainable_variables]
    optimizer.apply(grads)
    for b, w, hk in zip(before, model.trainable_variables, h):
        np.testing.assert_allclose(b - w.numpy(), 5e-4 / (sdlm.MU + hk) * 0.5, rtol=1e-4, atol=1e-10)
    steps = optimizer.step_sizes()
    assert max(s.max() for s in steps) <= 5e-4 / sdlm.MU * (1 + 1e-6)  # h >= 0 caps the step at eta / mu


def test_faithful_model_trains_with_sdlm(synthetic):
    spec, data_dir = synthetic
    config = experiments.preset("lecun1998", dataset="synthetic", epochs=3, max_train_images=300,
                                lr_multiplier=0.2)
    record = train.run(config, data_dir=data_dir, verbose=False)
    assert record.ok and record.data["n_parameters"] == 60000
    history = record.history
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]  # the MAP criterion falls
    assert (history["sdlm_max_step"] <= 0.2 * 5e-4 / sdlm.MU * (1 + 1e-6)).all()
    assert record.test_accuracy > 0.5  # argmin of the RBF penalties; chance is 0.1
    again = train.run(config, force=True, data_dir=data_dir, verbose=False)
    assert again.data["history"]["loss"] == record.data["history"]["loss"]  # determinism


def test_distorted_pool_and_pass_sampler(synthetic):
    spec, data_dir = synthetic
    base = experiments.preset("lecun1998", dataset="synthetic", epochs=2, max_train_images=100,
                              distortions=2, pass_size=100, loss="cross_entropy", optimizer="adam")
    record = train.run(base, data_dir=data_dir, verbose=False)
    assert record.ok and record.data["n_train"] == 100
    with pytest.raises(ValueError, match="pass_size"):
        train.run(base.replace(pass_size=301), data_dir=data_dir, verbose=False)


def test_distortions():
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    identity = np.tile([0.0, 0.0, 1.0, 1.0, 0.0], (3, 1))
    np.testing.assert_array_equal(data.distort(digits, identity), digits)
    shifted = data.distort(digits, np.tile([1.0, 2.0, 1.0, 1.0, 0.0], (3, 1)))  # 1 px down, 2 px right
    np.testing.assert_array_equal(shifted[:, 1:, 2:], digits[:, :-1, :-2])
    params = data.distortion_parameters(1000, seed=0)
    bounds = data.DISTORTION
    assert np.abs(params[:, :2]).max() <= bounds["translation_px"]
    assert np.abs(params[:, 2] - 1).max() <= bounds["scale"] and np.abs(params[:, 4]).max() <= bounds["shear"]
    pool = data.DistortedPool(digits, np.array([4, 5, 6]), copies=9, seed=1)
    assert len(pool) == 30
    x, y = pool.take(np.array([0, 4, 29]))
    np.testing.assert_array_equal(x[0], digits[0])
    np.testing.assert_array_equal(y, [4, 5, 6])
    assert not np.array_equal(x[2], digits[2])  # entry 29: copy 9 of image 2, distorted
    np.testing.assert_array_equal(pool.take(np.array([29]))[0][0], x[2])  # fixed by the seed


@pytest.mark.reliability
def test_new_fields_keep_earlier_keys_and_validate():
    # the replication's seed-0 record (schema 2) was saved under this key before the 1998 fields existed
    assert experiments.preset("seed_keras", seed=0).key() == "a465890cf9287111"
    faithful = experiments.preset("lecun1998")
    assert faithful.key() != faithful.replace(map_j=2.0).key() != faithful.replace(c3="full").key()
    with pytest.raises(ValueError, match="lecun1998"):
        experiments.preset("seed_keras", loss="map")
    with pytest.raises(ValueError, match="sdlm"):
        experiments.preset("seed_keras", optimizer="sdlm")
    with pytest.raises(ValueError, match="subsampling"):
        faithful.replace(subsampling="max")
    assert set(study.lecun1998_ablations(10, 0.1)) >= {"C3 fully connected instead of Table I"}


def fake_record(multiplier, final_error, status="ok"):
    config = experiments.preset("lecun1998", split="validation", epochs=2, lr_multiplier=multiplier)
    history = {"heldout_error": [0.5, final_error]} if status == "ok" else {"heldout_error": [0.5]}
    return train.Record(config, {"key": config.key(), "status": status, "history": history,
                                 "test": {"accuracy": 0.9}}, {})


def test_screen_choice_uses_the_last_validation_error_and_skips_diverged_runs():
    records = [fake_record(1.0, 0.9), fake_record(0.1, 0.02), fake_record(0.03, 0.015), fake_record(0.01, 0.0)]
    records[-1].data["status"] = "diverged"
    assert study.choose_multiplier(records) == 0.03
    tie = [fake_record(0.3, 0.02), fake_record(3.0, 0.02), fake_record(1.0, 0.02)]
    assert study.choose_multiplier(tie) == 1.0  # ties go to the paper's rate
    with pytest.raises(ValueError, match="diverged"):
        study.choose_multiplier([fake_record(1.0, 0.0, status="diverged")])


def test_profile_lists_the_screen_first_and_the_rest_once_it_is_recorded():
    from lenet import params

    profile = params.load_profile("smoke")
    first = study.lecun1998_configs(profile, screened=None)  # nothing recorded in the isolated results dir
    assert [c.split for c in first] == ["validation"] * len(profile["lecun1998_lr_multipliers"])
    full = study.lecun1998_configs(profile, screened=0.1)
    rest = full[len(first):]
    assert sum(c.split == "official" and c.distortions == 0 and c.epochs == profile["lecun1998_epochs"]
               for c in rest) == profile["lecun1998_repetitions"]
    assert sum(c.distortions == profile["lecun1998_distortions"] for c in rest) == 1
    assert all(c.lr_multiplier in (0.1, 0.1 / study.MU, 1.0) for c in rest)
