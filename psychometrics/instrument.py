"""Instrument definitions: items, subscales and bands, loaded from plain data.

Definitions come from YAML/JSON as nested dicts. ``load_instrument`` validates
them and raises :class:`InstrumentDefinitionError` naming the offending path
(``items[12].options[2].score``) so an author can find the mistake.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

LANGUAGES = ("en", "lt")


class InstrumentDefinitionError(ValueError):
    """A definition is malformed; ``path`` says where."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class InvalidResponse(ValueError):
    """A response does not belong to the item it was given for."""


class ItemKind(str, enum.Enum):
    LIKERT = "likert"
    MULTIPLE_CHOICE = "multiple_choice"
    SITUATIONAL_JUDGEMENT = "situational_judgement"


class Scoring(str, enum.Enum):
    MEAN = "mean"
    SUM = "sum"
    PROPORTION_CORRECT = "proportion_correct"
    # Percent of the possible range (POMP): for subscales that mix items on different scales,
    # e.g. situational judgement scored 0–3 with Likert items scored 1–5.
    PERCENT_OF_RANGE = "percent_of_range"


LocalText = Mapping[str, str]


def localise(text: LocalText, language: str) -> str:
    """Pick ``language`` from a ``{"en": ..., "lt": ...}`` mapping, falling back to English."""
    return text.get(language) or text.get("en") or next(iter(text.values()), "")


@dataclass(frozen=True)
class Option:
    """One answer option. ``key`` is what a respondent submits; ``score`` what it is worth."""

    key: str
    score: float
    text: LocalText


@dataclass(frozen=True)
class Item:
    id: str
    subscale: str
    kind: ItemKind
    stem: LocalText
    options: tuple[Option, ...]
    reverse: bool = False

    @property
    def min_score(self) -> float:
        return min(option.score for option in self.options)

    @property
    def max_score(self) -> float:
        return max(option.score for option in self.options)

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise InvalidResponse(f"item {self.id}: {key!r} is not one of its options")

    def score_response(self, key: str) -> float:
        """Score one response. Reverse-keyed Likert items score as max + min − x."""
        score = self.option(str(key)).score
        if self.reverse:
            return self.max_score + self.min_score - score
        return score


@dataclass(frozen=True)
class Band:
    """A named range of T-scores: everything up to and including ``max_t`` (``None`` = no ceiling)."""

    code: str
    max_t: float | None
    title: LocalText


@dataclass(frozen=True)
class Subscale:
    code: str
    title: LocalText
    scoring: Scoring
    min_answered: float
    description: LocalText = field(default_factory=dict)
    competencies: tuple[str, ...] = ()
    feedback: Mapping[str, LocalText] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    code: str
    version: int
    title: LocalText
    instructions: LocalText
    subscales: tuple[Subscale, ...]
    items: tuple[Item, ...]
    bands: tuple[Band, ...]

    def item(self, item_id: str) -> Item:
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise InvalidResponse(f"{item_id!r} is not an item of {self.code}") from None

    def subscale(self, code: str) -> Subscale:
        for subscale in self.subscales:
            if subscale.code == code:
                return subscale
        raise KeyError(code)

    def items_in(self, subscale_code: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.subscale == subscale_code)

    def validate_response(self, item_id: str, key: Any) -> str:
        """Return the normalised response key, or raise :class:`InvalidResponse`."""
        item = self.item(item_id)
        normalised = str(key).strip()
        item.option(normalised)
        return normalised

    @property
    def _items_by_id(self) -> dict[str, Item]:
        cached = self.__dict__.get("_item_index")
        if cached is None:
            cached = {item.id: item for item in self.items}
            object.__setattr__(self, "_item_index", cached)
        return cached


def _require(data: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise InstrumentDefinitionError(path, "expected a mapping")
    if key not in data or data[key] in (None, ""):
        raise InstrumentDefinitionError(f"{path}.{key}" if path else key, "is required")
    return data[key]


def _local_text(data: Mapping[str, Any], stem: str, path: str, required: bool = True) -> dict[str, str]:
    text = {lang: str(data[f"{stem}_{lang}"]) for lang in LANGUAGES if data.get(f"{stem}_{lang}")}
    if required and "en" not in text:
        raise InstrumentDefinitionError(f"{path}.{stem}_en", "is required")
    return text


def _sequence(value: Any, path: str) -> Sequence[Any]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or not value:
        raise InstrumentDefinitionError(path, "expected a non-empty list")
    return value


def _load_response_scales(data: Mapping[str, Any]) -> dict[str, tuple[Option, ...]]:
    scales: dict[str, tuple[Option, ...]] = {}
    for name, levels in (data.get("response_scales") or {}).items():
        path = f"response_scales.{name}"
        options = []
        for index, level in enumerate(_sequence(levels, path)):
            value = _require(level, "value", f"{path}[{index}]")
            if not isinstance(value, int):
                raise InstrumentDefinitionError(f"{path}[{index}].value", "must be an integer")
            options.append(Option(str(value), float(value), _local_text(level, "label", f"{path}[{index}]")))
        if len({option.key for option in options}) != len(options):
            raise InstrumentDefinitionError(path, "values must be unique")
        scales[name] = tuple(options)
    return scales


def _load_item(raw: Mapping[str, Any], path: str, scales: Mapping[str, tuple[Option, ...]],
               subscale_codes: set[str]) -> Item:
    item_id = str(_require(raw, "id", path))
    subscale = str(_require(raw, "subscale", path))
    if subscale not in subscale_codes:
        raise InstrumentDefinitionError(f"{path}.subscale", f"unknown subscale {subscale!r}")
    try:
        kind = ItemKind(_require(raw, "type", path))
    except ValueError:
        raise InstrumentDefinitionError(
            f"{path}.type", f"must be one of {', '.join(k.value for k in ItemKind)}") from None
    stem = _local_text(raw, "stem", path)
    reverse = bool(raw.get("reverse", False))
    if kind is ItemKind.LIKERT:
        scale_name = _require(raw, "scale", path)
        if scale_name not in scales:
            raise InstrumentDefinitionError(f"{path}.scale", f"unknown response scale {scale_name!r}")
        options = scales[scale_name]
    else:
        if reverse:
            raise InstrumentDefinitionError(f"{path}.reverse", "only Likert items can be reverse-keyed")
        correct = raw.get("correct")
        built = []
        for index, option in enumerate(_sequence(_require(raw, "options", path), f"{path}.options")):
            option_path = f"{path}.options[{index}]"
            key = str(_require(option, "key", option_path))
            if kind is ItemKind.MULTIPLE_CHOICE:
                score = 1.0 if key == str(correct) else 0.0
            else:
                score_value = _require(option, "score", option_path)
                if not isinstance(score_value, (int, float)) or isinstance(score_value, bool):
                    raise InstrumentDefinitionError(f"{option_path}.score", "must be a number")
                score = float(score_value)
            built.append(Option(key, score, _local_text(option, "text", option_path)))
        options = tuple(built)
        if len({option.key for option in options}) != len(options):
            raise InstrumentDefinitionError(f"{path}.options", "keys must be unique")
        if kind is ItemKind.MULTIPLE_CHOICE and str(correct) not in {o.key for o in options}:
            raise InstrumentDefinitionError(f"{path}.correct", f"{correct!r} is not one of the option keys")
    if len(options) < 2:
        raise InstrumentDefinitionError(path, "an item needs at least two options")
    return Item(item_id, subscale, kind, stem, options, reverse)


def load_instrument(data: Mapping[str, Any]) -> Instrument:
    """Build and validate an :class:`Instrument` from a parsed YAML/JSON definition."""
    if not isinstance(data, Mapping):
        raise InstrumentDefinitionError("(root)", "expected a mapping")
    code = str(_require(data, "code", ""))
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise InstrumentDefinitionError("version", "must be a positive integer")
    scales = _load_response_scales(data)

    subscales = []
    for index, raw in enumerate(_sequence(_require(data, "subscales", ""), "subscales")):
        path = f"subscales[{index}]"
        try:
            scoring = Scoring(raw.get("scoring", "mean"))
        except ValueError:
            raise InstrumentDefinitionError(
                f"{path}.scoring", f"must be one of {', '.join(s.value for s in Scoring)}") from None
        min_answered = raw.get("min_answered", 0.8)
        if not isinstance(min_answered, (int, float)) or not 0 < min_answered <= 1:
            raise InstrumentDefinitionError(f"{path}.min_answered", "must be a fraction in (0, 1]")
        feedback = {
            band: {lang: str(text[lang]) for lang in LANGUAGES if text.get(lang)}
            for band, text in (raw.get("feedback") or {}).items()
        }
        subscales.append(Subscale(
            code=str(_require(raw, "code", path)),
            title=_local_text(raw, "title", path),
            scoring=scoring,
            min_answered=float(min_answered),
            description=_local_text(raw, "description", path, required=False),
            competencies=tuple(str(c) for c in raw.get("competencies") or ()),
            feedback=feedback,
        ))
    codes = [s.code for s in subscales]
    if len(set(codes)) != len(codes):
        raise InstrumentDefinitionError("subscales", "codes must be unique")

    items = []
    for index, raw in enumerate(_sequence(_require(data, "items", ""), "items")):
        items.append(_load_item(raw, f"items[{index}]", scales, set(codes)))
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise InstrumentDefinitionError(f"items[{index}].id", f"duplicate item id {item.id!r}")
        seen.add(item.id)
    for subscale in subscales:
        if not any(item.subscale == subscale.code for item in items):
            raise InstrumentDefinitionError(f"subscales[{codes.index(subscale.code)}]", "has no items")

    bands = []
    for index, raw in enumerate(data.get("bands") or ()):
        path = f"bands[{index}]"
        max_t = raw.get("max_t")
        bands.append(Band(str(_require(raw, "code", path)),
                          None if max_t is None else float(max_t), _local_text(raw, "title", path)))
    limits = [band.max_t for band in bands]
    if bands and (limits[-1] is not None or any(limit is None for limit in limits[:-1])
                  or limits[:-1] != sorted(limits[:-1])):
        raise InstrumentDefinitionError("bands", "max_t must increase and only the last band may be open")

    return Instrument(
        code=code,
        version=version,
        title=_local_text(data, "title", ""),
        instructions=_local_text(data, "instructions", "", required=False),
        subscales=tuple(subscales),
        items=tuple(items),
        bands=tuple(bands),
    )
