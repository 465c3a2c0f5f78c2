"""Dataset digests: the 8-character fingerprints MLflow records for a dataset.

The algorithm is MLflow's (``mlflow.data.digest_utils`` in 3.17), so the same data gets the
same digest in both tools and ``datasets.digest = '...'`` finds runs logged by either:

- a DataFrame: pandas' per-row hashes (``hash_pandas_object``, index included) of the first
  10,000 rows restricted to its string columns (every value a ``str``) and numeric columns
  (``Index.union`` of the two, so usually sorted by name), then the full row count as an
  int64, then every column name (all columns) as UTF-8;
- numpy arrays (features, then targets; dicts of arrays in key order): pandas' ``hash_array`` of
  the first 10,000 flattened values (the element count when the values are not hashable), then
  each dimension as an int64;
- md5 over those byte buffers, the first 8 hex characters.
"""

from __future__ import annotations

import hashlib
from typing import Any

from labtrack.errors import invalid

# Only a sample is hashed, so fingerprinting a big frame stays cheap.
MAX_ROWS = 10_000


def _md5_prefix(elements: list[Any]) -> str:
    if not elements:
        raise invalid("No hashable elements were provided for md5 digest creation")
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]


def _hashed_columns(df: Any) -> Any:
    """The columns MLflow hashes: those whose every value is exactly a ``str`` and the numeric
    ones (booleans, datetimes and mixed columns are left out), combined with ``Index.union``,
    whose ordering rules (sorted, unless one side is empty...) the digest depends on."""
    import numpy as np
    import pandas as pd

    strings = [
        name
        for name in df.columns
        # Only object/string columns can hold str values; checking just those is the cheap
        # way to ask MLflow's question (every value's type is str) of the whole frame.
        if (
            pd.api.types.is_object_dtype(df[name].dtype)
            or pd.api.types.is_string_dtype(df[name].dtype)
        )
        and all(type(v) is str for v in df[name].to_numpy())
    ]
    numbers = df.select_dtypes(include=[np.number]).columns
    return pd.Index(strings, dtype=object).union(numbers)


def pandas_digest(df: Any) -> str:
    import numpy as np
    import pandas as pd

    sample = df.head(MAX_ROWS)[_hashed_columns(df)]
    elements: list[Any] = [pd.util.hash_pandas_object(sample).values, np.int64(len(df))]
    elements.extend(str(name).encode() for name in df.columns)
    return _md5_prefix(elements)


def numpy_digest(features: Any, targets: Any = None) -> str:
    import numpy as np
    import pandas as pd

    elements: list[Any] = []

    def add(array: Any) -> None:
        array = np.asarray(array)
        flat = array.flatten()[:MAX_ROWS]
        try:
            elements.append(pd.util.hash_array(flat))
        except TypeError:  # e.g. a ragged object array: only its size counts
            elements.append(np.int64(flat.size))
        elements.extend(np.int64(n) for n in array.shape)

    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item):
                add(item[key])
        else:
            add(item)
    return _md5_prefix(elements)
