"""Tables of rows (dicts) as CSV and as Markdown: the one place both formats are written."""
import csv
import io
from typing import Callable, Optional, Sequence


def csv_bytes(rows: Sequence[dict], columns: Sequence[str]) -> bytes:
    """The rows under ``columns`` as CSV (keys outside the columns left out, missing ones empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def plain(value) -> str:
    """A cell as text: empty for none, floats to 4 significant digits."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown(rows: Sequence[dict], columns: Sequence[str], cell: Callable[[dict, str], str] = None,
             headers: Optional[Sequence[str]] = None) -> str:
    """The rows as a Markdown table; ``cell(row, column)`` writes each cell (``plain`` by default)."""
    write = cell or (lambda row, column: plain(row.get(column)))
    lines = ["| " + " | ".join(headers or columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(write(row, c).replace("|", "\\|") for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"
