"""The block is installed under the ``xblock.v1`` entry point, as the LMS and Studio find it."""

from importlib.metadata import entry_points

from xblock.core import XBlock

from lms_plugin.xblocks.psychometric_test import PsychometricTestXBlock


def test_the_xblock_v1_entry_point_resolves_to_the_block():
    found = [entry for entry in entry_points(group="xblock.v1") if entry.name == "psychometric_test"]
    assert len(found) == 1, "run `pip install -e .` so the package metadata has the entry point"
    assert found[0].value == "lms_plugin.xblocks.psychometric_test:PsychometricTestXBlock"
    assert found[0].load() is PsychometricTestXBlock


def test_xblock_loads_the_class_by_its_tag():
    assert XBlock.load_class("psychometric_test") is PsychometricTestXBlock
