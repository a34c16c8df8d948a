"""Every method card has a line in the studio's words, never peft's docstring boilerplate."""

import pytest

from worker.engine.adapters import method_catalogue
from worker.engine.adapters.methods.generic import PeftFallback
from worker.engine.adapters.methods.peft_descriptions import DESCRIPTIONS, describe


def test_every_method_has_a_description_of_its_own():
    seen = {}
    for spec in method_catalogue():
        text = spec["description"]
        assert text and len(text) <= 200, spec["name"]
        assert "configuration class" not in text.lower(), (spec["name"], text)
        assert "[`" not in text and "Config" not in text, (spec["name"], text)
        seen[spec["name"]] = text
    # one line per peft tuner this peft offers, and none for a tuner it does not
    assert set(PeftFallback().names()) <= set(DESCRIPTIONS), set(PeftFallback().names()) - set(
        DESCRIPTIONS
    )
    assert len(set(seen.values())) == len(seen)  # no two methods share a line


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            "This is the configuration class to store the configuration of a [`NewModel`]. "
            "New trains a diagonal. Args: r (`int`): rank",
            "newthing (peft NewConfig): New trains a diagonal",
        ),
        (
            "Configuration class of [`NewModel`].\n\n Args: r",
            "newthing (peft NewConfig): no description yet",
        ),
        (None, "newthing (peft NewConfig): no description yet"),
    ],
)
def test_a_tuner_without_a_line_gets_a_useful_sentence(doc, expected):
    assert describe("newthing", "NewConfig", doc) == expected
