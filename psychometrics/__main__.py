"""Command line for the psychologist's offline work: ``python -m psychometrics …``.

``calibrate``, ``reliability`` and ``score`` read a CSV whose rows are persons and
whose columns are items (empty cell = missing; an optional ``count`` column gives
how many people share the row's pattern) and print JSON (``score`` can also print
CSV). A bad file gets a one-line error naming the row and column, exit status 1,
and no traceback; usage errors exit with 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from psychometrics import irt

COUNT_COLUMN = "count"
ID_COLUMNS = ("id", "person")


class DataError(Exception):
    """A problem with an input file, phrased for the person who has to fix it."""


@dataclass(frozen=True)
class Table:
    path: str
    header: tuple[str, ...]
    rows: list[tuple[int, list[str]]]       # (line number, cells)

    def where(self, row_index: int, column: str | None = None) -> str:
        line = self.rows[row_index][0]
        place = f"{self.path}: row {row_index + 1} (line {line})"
        return f"{place}, column {column!r}" if column is not None else place


def read_table(path: str) -> Table:
    """Read a CSV with a header row; blank lines are skipped, cells stripped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise DataError(f"{path}: cannot be read ({problem})") from None
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            cells = [cell.strip() for cell in cells]
            if header is None:
                header = cells
                _check_header(path, header, reader.line_num)
                continue
            if len(cells) != len(header):
                raise DataError(f"{path}: row {len(rows) + 1} (line {reader.line_num}) has {len(cells)} "
                                f"fields, the header has {len(header)}")
            rows.append((reader.line_num, cells))
    except csv.Error as problem:
        raise DataError(f"{path}: line {reader.line_num}: not valid CSV ({problem})") from None
    if header is None:
        raise DataError(f"{path}: the file is empty (expected a header row of item names)")
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    return Table(path, tuple(header), rows)


def _check_header(path: str, header: list[str], line: int) -> None:
    for index, name in enumerate(header):
        if not name:
            raise DataError(f"{path}: line {line}: column {index + 1} of the header has no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: line {line}: column {name!r} appears twice in the header")
        seen.add(name)


def numeric_matrix(table: Table, columns: Sequence[str], *, integers: bool = False,
                   allowed: set[float] | None = None, hint: str = "") -> np.ndarray:
    """Parse the named columns as numbers (empty = NaN), naming the first bad cell."""
    index = [table.header.index(c) for c in columns]
    out = np.full((len(table.rows), len(columns)), np.nan)
    for r, (_, cells) in enumerate(table.rows):
        for c, col in enumerate(index):
            cell = cells[col]
            if cell == "" or cell.upper() == "NA":
                continue
            try:
                value = float(cell)
            except ValueError:
                raise DataError(f"{table.where(r, columns[c])}: {cell!r} is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{table.where(r, columns[c])}: {cell!r} is not a finite number")
            if integers and value != round(value):
                raise DataError(f"{table.where(r, columns[c])}: {cell!r} is not a whole number{hint}")
            if allowed is not None and value not in allowed:
                raise DataError(f"{table.where(r, columns[c])}: {cell!r} is not one of "
                                f"{', '.join(str(int(a)) for a in sorted(allowed))}{hint}")
            out[r, c] = value
    return out


def pattern_counts(table: Table) -> np.ndarray | None:
    """The ``count`` column (case-insensitive) as non-negative weights, or None."""
    name = next((h for h in table.header if h.lower() == COUNT_COLUMN), None)
    if name is None:
        return None
    col = table.header.index(name)
    counts = np.empty(len(table.rows))
    for r, (_, cells) in enumerate(table.rows):
        cell = cells[col]
        try:
            value = float(cell)
        except ValueError:
            raise DataError(f"{table.where(r, name)}: count {cell!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise DataError(f"{table.where(r, name)}: count {cell!r} must be zero or more")
        counts[r] = value
    return counts


def item_columns(table: Table) -> list[str]:
    return [h for h in table.header if h.lower() != COUNT_COLUMN and h.lower() not in ID_COLUMNS]


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (np.floating, np.integer)):
        return _json_ready(value.item())
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(_json_ready(data), indent=2, allow_nan=False) + "\n")


def _split(option: str | None) -> list[str]:
    return [part.strip() for part in option.split(",") if part.strip()] if option else []


# --------------------------------------------------------------------------- commands


def cmd_calibrate(args: argparse.Namespace) -> int:
    table = read_table(args.file)
    columns = item_columns(table)
    if not columns:
        raise DataError(f"{args.file}: no item columns")
    dichotomous = args.model != "grm"
    hint = f" (the {args.model} model is for 0/1 items; use --model grm for graded items)" if dichotomous else ""
    data = numeric_matrix(table, columns, integers=True, allowed={0.0, 1.0} if dichotomous else None, hint=hint)
    weights = pattern_counts(table)
    quadrature = irt.Quadrature.fixed(args.quadrature, 6.0)
    try:
        result = irt.calibrate(data, args.model, weights=weights, item_names=columns, quadrature=quadrature,
                               standard_errors=not args.no_se)
    except ValueError as problem:
        raise DataError(f"{args.file}: {problem}") from None
    output = result.as_dict()
    if args.item_fit:
        complete = ~np.isnan(data).any(axis=1)
        fits = result.item_fit(data[complete], weights=None if weights is None else weights[complete])
        for item, fit in zip(output["items"], fits):  # type: ignore[arg-type]
            item["fit"] = {"S_X2": fit.statistic, "df": fit.df, "p": fit.p_value, "rmsea": fit.rmsea}
    _print_json(output)
    return 0


def cmd_reliability(args: argparse.Namespace) -> int:
    from psychometrics import ctt

    table = read_table(args.file)
    available = item_columns(table)
    columns = _split(args.columns) or available
    for name in columns:
        if name not in table.header:
            raise DataError(f"{args.file}: --columns names {name!r}, which is not a column of the file")
    reverse = _split(args.reverse)
    for name in reverse:
        if name not in columns:
            raise DataError(f"{args.file}: --reverse names {name!r}, which is not among the analysed columns")
    if len(columns) < 2:
        raise DataError(f"{args.file}: reliability needs at least two item columns")
    data = numeric_matrix(table, columns)
    counts = pattern_counts(table)
    if counts is not None:
        for r, count in enumerate(counts):
            if count != round(count):
                raise DataError(f"{table.where(r, 'count')}: reliability needs whole-number counts")
        data = np.repeat(data, counts.astype(int), axis=0)
    try:
        report = ctt.item_analysis(data, reverse or None, names=columns, confidence=args.confidence,
                                   low=args.low, high=args.high)
    except ValueError as problem:
        raise DataError(f"{args.file}: {problem}") from None
    output = report.as_dict()
    output["reversed"] = reverse
    _print_json(output)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from psychometrics.instrument import InstrumentDefinitionError, load_instrument
    from psychometrics.scoring import score_instrument

    try:
        import yaml
    except ImportError:                                   # pragma: no cover - PyYAML is a dependency
        raise DataError("reading an instrument definition needs PyYAML") from None
    try:
        raw = yaml.safe_load(Path(args.instrument).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{args.instrument}: no such file") from None
    except yaml.YAMLError as problem:
        raise DataError(f"{args.instrument}: not valid YAML ({problem})") from None
    try:
        instrument = load_instrument(raw)
    except InstrumentDefinitionError as problem:
        raise DataError(f"{args.instrument}: {problem}") from None
    table = read_table(args.file)
    item_ids = {item.id for item in instrument.items}
    id_column = next((h for h in table.header if h.lower() in ID_COLUMNS), None)
    columns = [h for h in table.header if h != id_column]
    for name in columns:
        if name not in item_ids:
            raise DataError(f"{args.file}: column {name!r} is not an item of instrument {instrument.code}")
    persons = []
    for r, (_, cells) in enumerate(table.rows):
        answers: dict[str, str] = {}
        for name in columns:
            cell = cells[table.header.index(name)]
            if cell == "":
                continue
            item = instrument.item(name)
            if cell not in {option.key for option in item.options}:
                keys = ", ".join(option.key for option in item.options)
                raise DataError(f"{table.where(r, name)}: {cell!r} is not an option of {name} ({keys})")
            answers[name] = cell
        scores = score_instrument(instrument, answers)
        persons.append({
            "row": r + 1,
            "id": cells[table.header.index(id_column)] if id_column else None,
            "scores": {code: score.as_dict() for code, score in scores.items()},
        })
    if args.format == "csv":
        _print_score_csv(instrument.subscales, persons)
    else:
        _print_json({"instrument": instrument.code, "version": instrument.version, "persons": persons})
    return 0


def _print_score_csv(subscales: Sequence[Any], persons: list[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    header = ["row", "id"]
    for subscale in subscales:
        header += [f"{subscale.code}_score", f"{subscale.code}_raw", f"{subscale.code}_answered",
                   f"{subscale.code}_scored"]
    writer.writerow(header)
    for person in persons:
        line = [person["row"], person["id"] or ""]
        for subscale in subscales:
            s = person["scores"][subscale.code]
            line += ["" if s["score"] is None else s["score"], "" if s["raw"] is None else s["raw"],
                     s["n_answered"], int(bool(s["scored"]))]
        writer.writerow(line)


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m psychometrics",
        description="Offline psychometric analyses: IRT calibration, reliability and scoring.")
    sub = parser.add_subparsers(dest="command", required=True)

    cal = sub.add_parser("calibrate", help="fit an IRT model by marginal maximum likelihood; prints JSON")
    cal.add_argument("--model", choices=irt.MODELS, required=True,
                     help="rasch (slopes fixed at 1), 1pl (one common slope), 2pl, grm (graded)")
    cal.add_argument("--quadrature", type=int, default=61, help="quadrature points on [-6, 6] (default 61)")
    cal.add_argument("--no-se", action="store_true", help="skip standard errors")
    cal.add_argument("--item-fit", action="store_true", help="add S-X2 item fit (complete rows only)")
    cal.add_argument("file", help="CSV: rows = persons, columns = items, optional count column")
    cal.set_defaults(handler=cmd_calibrate)

    rel = sub.add_parser("reliability", help="alpha (Feldt CI), omega, SEM and item statistics; prints JSON")
    rel.add_argument("--reverse", help="comma-separated columns to reverse-key (max + min - x)")
    rel.add_argument("--columns", help="comma-separated columns to analyse (default: all items)")
    rel.add_argument("--low", type=float, help="scale minimum for reverse keying (default: observed)")
    rel.add_argument("--high", type=float, help="scale maximum for reverse keying (default: observed)")
    rel.add_argument("--confidence", type=float, default=0.95, help="confidence level of alpha_ci")
    rel.add_argument("file")
    rel.set_defaults(handler=cmd_reliability)

    sco = sub.add_parser("score", help="score answers (option keys) against an instrument definition")
    sco.add_argument("--instrument", required=True, help="instrument definition (YAML)")
    sco.add_argument("--format", choices=("json", "csv"), default="json")
    sco.add_argument("file", help="CSV: columns = item ids (plus optional id), values = option keys")
    sco.set_defaults(handler=cmd_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except DataError as problem:
        sys.stderr.write(f"psychometrics: error: {problem}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
