# Type hints for the quern module (docs/python.md).
import os
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

_Threads = Optional[int]
_Limit = Union[int, str, None]
_Path = Union[str, bytes, os.PathLike]
_Paths = Union[_Path, Sequence[_Path]]
_Bins = Union[int, str, ArrayLike, Sequence[Union[int, ArrayLike]]]
_Range = Optional[Sequence[Any]]

__version__: str

class Error(RuntimeError): ...
class MemoryLimitError(Error): ...
class FormatError(Error): ...

class BinnedStatisticResult(NamedTuple):
    statistic: NDArray[np.float64]
    bin_edges: NDArray[np.floating]
    binnumber: Optional[NDArray[np.intp]]

class BinnedStatistic2dResult(NamedTuple):
    statistic: NDArray[np.float64]
    x_edge: NDArray[np.floating]
    y_edge: NDArray[np.floating]
    binnumber: Optional[NDArray[np.intp]]

class BinnedStatisticddResult(NamedTuple):
    statistic: NDArray[np.float64]
    bin_edges: List[NDArray[np.floating]]
    binnumber: Optional[NDArray[np.intp]]

class BinResult(NamedTuple):
    stats: Dict[str, NDArray[np.float64]]
    edges: List[NDArray[np.float64]]
    axes: List[str]
    rows: int
    out_of_range: int

def histogram(a: ArrayLike, bins: Union[int, str, ArrayLike] = ..., range: Optional[Tuple[float, float]] = ...,
              density: Optional[bool] = ..., weights: Optional[ArrayLike] = ..., *,
              threads: _Threads = ..., memory_limit: _Limit = ...) -> Tuple[NDArray[Any], NDArray[np.floating]]: ...
def histogram2d(x: ArrayLike, y: ArrayLike, bins: _Bins = ..., range: _Range = ...,
                density: Optional[bool] = ..., weights: Optional[ArrayLike] = ..., *,
                threads: _Threads = ..., memory_limit: _Limit = ...
                ) -> Tuple[NDArray[np.float64], NDArray[np.floating], NDArray[np.floating]]: ...
def histogramdd(sample: Union[ArrayLike, Sequence[ArrayLike]], bins: _Bins = ..., range: _Range = ...,
                density: Optional[bool] = ..., weights: Optional[ArrayLike] = ..., *,
                threads: _Threads = ..., memory_limit: _Limit = ...
                ) -> Tuple[NDArray[np.float64], List[NDArray[np.floating]]]: ...
def binned_statistic(x: ArrayLike, values: Optional[ArrayLike], statistic: str = ..., bins: _Bins = ...,
                     range: _Range = ..., *, binnumber: bool = ..., threads: _Threads = ...,
                     memory_limit: _Limit = ...) -> BinnedStatisticResult: ...
def binned_statistic_2d(x: ArrayLike, y: ArrayLike, values: Optional[ArrayLike], statistic: str = ...,
                        bins: _Bins = ..., range: _Range = ..., expand_binnumbers: bool = ..., *,
                        binnumber: bool = ..., threads: _Threads = ...,
                        memory_limit: _Limit = ...) -> BinnedStatistic2dResult: ...
def binned_statistic_dd(sample: Union[ArrayLike, Sequence[ArrayLike]], values: Optional[ArrayLike],
                        statistic: str = ..., bins: _Bins = ..., range: _Range = ...,
                        expand_binnumbers: bool = ..., binned_statistic_result: Any = ..., *,
                        binnumber: bool = ..., threads: _Threads = ...,
                        memory_limit: _Limit = ...) -> BinnedStatisticddResult: ...
def stats(paths: _Paths, columns: Optional[Sequence[str]] = ..., per_file: bool = ..., *,
          threads: _Threads = ..., memory_limit: _Limit = ...) -> Dict[str, Any]: ...
def bin(paths: _Paths, axes: Union[str, tuple, Sequence[Union[str, tuple]]], value: Optional[str] = ...,
        weight: Optional[str] = ..., stats: Union[str, Sequence[str]] = ..., *,
        threads: _Threads = ..., memory_limit: _Limit = ...) -> BinResult: ...
def group(paths: _Paths, key: str, out: _Path, order: Optional[str] = ...,
          columns: Optional[Sequence[str]] = ..., split: Union[None, str, Dict[str, float]] = ...,
          seed: int = ..., shards: int = ..., format: Optional[str] = ..., codec: Optional[str] = ...,
          force: bool = ..., *, threads: _Threads = ..., memory_limit: _Limit = ...) -> Dict[str, Any]: ...
def info(path: _Path, *, threads: _Threads = ..., memory_limit: _Limit = ...) -> Dict[str, Any]: ...
