"""The map's cluster cells, counted a tile at a time and kept for a short while.

Counting a national view's cells reads every EVSE in the country (at 100,000 EVSEs about
a second or more on SQLite), and a map asks again on every pan. So cells are counted for
whole tiles of TILE_CELLS x TILE_CELLS cells, aligned to the grid, and each tile is kept
for NAP_API_CACHE_MAX_AGE_SECONDS, the staleness clients already accept from the API's
Cache-Control. A pan then re-reads only the tiles that came into view, and a cell is
always counted whole (all its locations, not just those inside the box), so a cluster's
number does not change as the map moves.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, NamedTuple

TILE_CELLS = 8
MAX_TILES = 20_000  # per process: a few MB at most
EDGE = 1e-9  # degrees: the box read reaches past the tile edges so no float rounding loses a location


class Cell(NamedTuple):
    row: int
    col: int
    locations: int
    lat: float
    lon: float
    evses: int
    available: int
    watts: float | None


class TileCache:
    """Tiles (or any answer) by key, each dropped `ttl` seconds after it was counted; the
    oldest first when full."""

    def __init__(self, max_tiles: int = MAX_TILES):
        self._tiles: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_tiles = max_tiles

    def get(self, key: tuple, ttl: float, now: float) -> Any:
        with self._lock:
            entry = self._tiles.get(key)
            if entry is None or now - entry[0] >= ttl:
                return None
            return entry[1]

    def put(self, key: tuple, cells: Any, now: float) -> None:
        with self._lock:
            self._tiles[key] = (now, cells)
            self._tiles.move_to_end(key)
            while len(self._tiles) > self.max_tiles:
                self._tiles.popitem(last=False)


CACHE = TileCache()

# Reads the cells of a box (min_lon, min_lat, max_lon, max_lat) from the database.
CountCells = Callable[[tuple[float, float, float, float]], list[Cell]]


def cells_in_view(box: tuple[float, float, float, float], size: float, key: tuple, ttl: float,
                  count: CountCells, cache: TileCache = CACHE) -> list[Cell]:
    """The cells (of `size` degrees) that meet the box, each counted whole. `key` names
    everything else the count depends on (database, zoom, filters, audience)."""
    min_lon, min_lat, max_lon, max_lat = box
    tile = size * TILE_CELLS
    rows = range(math.floor((min_lat + 90) / tile), math.floor((max_lat + 90) / tile) + 1)
    cols = range(math.floor((min_lon + 180) / tile), math.floor((max_lon + 180) / tile) + 1)
    now = time.monotonic()
    tiles = {(r, c): cache.get((*key, r, c), ttl, now) if ttl > 0 else None for r in rows for c in cols}
    if any(cells is None for cells in tiles.values()):
        # One read for the whole range of tiles: fewer statements than one per missing tile,
        # and a pan's new tiles sit side by side anyway.
        read = (max(-180.0, cols[0] * tile - 180 - EDGE), max(-90.0, rows[0] * tile - 90 - EDGE),
                min(180.0, (cols[-1] + 1) * tile - 180 + EDGE), min(90.0, (rows[-1] + 1) * tile - 90 + EDGE))
        tiles = {position: [] for position in tiles}
        for cell in count(read):
            position = (cell.row // TILE_CELLS, cell.col // TILE_CELLS)
            if position in tiles:  # a location just past the read's edge belongs to a tile not read whole
                tiles[position].append(cell)
        if ttl > 0:
            for (r, c), cells in tiles.items():
                cache.put((*key, r, c), cells, now)
    return sorted((cell for cells in tiles.values() for cell in cells
                   if cell.row * size - 90 <= max_lat and (cell.row + 1) * size - 90 >= min_lat
                   and cell.col * size - 180 <= max_lon and (cell.col + 1) * size - 180 >= min_lon),
                  key=lambda cell: (cell.row, cell.col))
