import numpy as np
import pytest

from fmi_mx.core.network import vgg
from fmi_mx.core.network.vgg import VGG19
from fmi_mx.backend.mx import mx
from fmi_mx.errors import FmiError

from reference import code


def test_names_walk_the_table():
    names = [layer.name for layer in VGG19.layers]
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names[-1] == "relu5_4" and "pool4" in names and "pool5" not in names
    assert len(VGG19.convs) == 16
    assert VGG19.layer("relu3_2").channels == 256
    assert vgg.output_shape("relu3_1", 64, 40) == (256, 16, 10)
    assert vgg.output_shape("pool2", 64, 40) == (128, 16, 10)


def test_vgg16_is_the_same_walk_with_fewer_convolutions():
    vgg16 = vgg.network("vgg16")
    names = [layer.name for layer in vgg16.layers]
    assert len(vgg16.convs) == 13 and names[-1] == "relu5_3"
    assert [n for n in names if n.startswith("relu3")] == ["relu3_1", "relu3_2", "relu3_3"]
    assert sum(int(np.prod(s)) for s in vgg16.conv_shapes().values()) == 14_714_688  # Simonyan & Zisserman's
    assert vgg16.layer("relu4_1").index == VGG19.layer("relu4_1").index - 2 and vgg16.layer("relu4_1").scale == 8
    with pytest.raises(FmiError, match="unknown layer of VGG-16 'relu5_4'.*Did you mean 'relu5_3'"):
        vgg16.layer("relu5_4")
    with pytest.raises(FmiError, match="unknown network 'vgg11'"):
        vgg.network("vgg11")
    # fewer convolutions before relu4_1: less work than VGG-19's, with the same first block
    assert vgg16.conv_macs(["relu4_1"], 32, 32) < VGG19.conv_macs(["relu4_1"], 32, 32)
    assert vgg16.conv_macs(["relu2_2"], 32, 32) == VGG19.conv_macs(["relu2_2"], 32, 32)


@pytest.mark.parametrize("bad", ["relu0_1", "relu6_1", "conv1", "fc6", "relu1_1 ", ""])
def test_a_name_that_no_vgg_has_is_refused_without_a_network(bad):
    with pytest.raises(FmiError, match="unknown layer|empty layer name"):
        vgg.parse(bad)


@pytest.mark.parametrize("bad", ["relu6_1", "relu1_3", "conv0_1", "fc6", "relu11", " relu1_1"])
def test_unknown_layer_names_the_valid_ones(bad):
    with pytest.raises(FmiError, match="unknown layer") as info:
        VGG19.layer(bad)
    assert "relu5_4" in str(info.value)


def test_an_empty_layer_name_is_named_as_such():
    with pytest.raises(FmiError, match="an empty layer name"):
        VGG19.layer("")


def test_unknown_layer_suggests_the_closest():
    with pytest.raises(FmiError, match="Did you mean 'relu5_1'"):
        VGG19.layer("relu6_1")


def test_filter_and_size_checks():
    assert VGG19.check_filter("relu1_1", 63) == 63
    with pytest.raises(FmiError, match="filter 64 does not exist at relu1_1"):
        VGG19.check_filter("relu1_1", 64)
    with pytest.raises(FmiError, match="at least 16 px"):
        VGG19.check_size(["relu5_1"], 8, 64)


def test_deepest_and_convolution_work():
    assert VGG19.deepest(["relu3_1", "relu1_2", "pool2"]).name == "relu3_1"
    with pytest.raises(FmiError, match="no layer requested"):
        VGG19.deepest([])
    assert VGG19.conv_macs(["relu1_1"], 8, 4) == 3 * 64 * 9 * 8 * 4
    assert VGG19.conv_macs(["relu2_1"], 8, 8) == 3 * 64 * 9 * 64 + 64 * 64 * 9 * 64 + 64 * 128 * 9 * 16
    assert VGG19.conv_macs(["conv1_1"], 8, 8) == VGG19.conv_macs(["relu1_1"], 8, 8)


def test_symbol_is_cut_at_the_deepest_layer():
    symbol = VGG19.features(["relu2_1"])["relu2_1"]
    args = symbol.list_arguments()
    assert "conv2_1_weight" in args and "conv2_2_weight" not in args


def test_activations_match_numpy(biased_weights):
    """relu1_1 and relu2_1 equal an independent numpy VGG on a 16 px image."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-120, 120, (1, 3, 16, 16)).astype(np.float32)
    feats = VGG19.features(["relu1_1", "relu2_1"])
    group = mx.sym.Group([feats["relu1_1"], feats["relu2_1"]])
    args = {"data": mx.nd.array(x)}
    args.update({n: mx.nd.array(biased_weights.arrays[n]) for n in group.list_arguments() if n != "data"})
    exe = group.bind(mx.cpu(), args, grad_req="null")
    ours = [o.asnumpy()[0] for o in exe.forward()]

    relu1_1, relu2_1 = (code(x[0], biased_weights.arrays, name) for name in ("relu1_1", "relu2_1"))
    for got, want in zip(ours, (relu1_1, relu2_1)):
        assert got.shape == want.shape
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4
