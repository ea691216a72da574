"""What both sentiment tasks answer (sequence and tree models serve the same ``sentiment`` pipeline),
so a client sees one answer shape and one set of options whichever kind of model is behind it."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from ..config import Section


class Phrase(BaseModel):
    text: str
    label: str
    score: float
    scores: dict[str, float]


class SentimentAnswer(BaseModel):
    label: str
    score: float
    scores: dict[str, float]
    tree: str | None = None  # tree models: the labelled tree, one line of PTB brackets
    phrases: list[Phrase] | None = None  # tree models: a label for every phrase, bottom-up
    svg: str | None = None  # tree models, with render: the labelled tree drawn
    sentences: list[Phrase] | None = None  # a long text answered sentence by sentence (data.split_tokens)


class TreeOptions(Section):
    phrases: bool = Field(True, description="tree models: a label for every phrase, and the labelled tree")
    render: bool = Field(False, description="tree models: an SVG drawing of each labelled tree")


class TextOptions(TreeOptions):
    """The tree options, refused by name: a sequence model labels the whole text only."""

    phrases: bool = Field(False, description="tree models only: a label for every phrase")

    @field_validator("phrases", "render")
    @classmethod
    def _tree_models_only(cls, value: bool) -> bool:
        if value:
            raise ValueError("'phrases' and 'render' need a tree model (rntn, recnn, treelstm)")
        return value
