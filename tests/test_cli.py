"""The command line: the demo does what the README says, and info reports the kernels."""

from tinygan.cli import main


def test_demo_passes_its_gradient_check_and_learns_the_rings(capsys):
    assert main(["demo", "--steps", "300"]) == 0  # nonzero when the check fails or acc <= 90%
    out = capsys.readouterr().out
    assert "gradient check of BCE(MLP(x)) w.r.t. all 37 weights and biases: passed" in out
    assert "accuracy on 1024 new points" in out


def test_info_names_the_active_kernels(capsys):
    assert main(["info"]) == 0
    assert "active:" in capsys.readouterr().out
