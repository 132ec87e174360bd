"""The input cache's tar extraction on many small files: the stream bound grows by each entry's
tar overhead (a dataset of 3,000 files of 10 bytes is a 3 MB tar for 30 KB of content), and the
number of entries is capped."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from gpurent.agent import inputs
from gpurent.agent.inputs import InputError, _Reader, extract

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


def small_files_tar(count: int, size: int = 10) -> tuple[bytes, int]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo(CID)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for i in range(count):
            info = tarfile.TarInfo(f"{CID}/shard-{i:05d}/" + "n" * 120 + ".txt")  # long names: PAX headers
            info.size = size
            tar.addfile(info, io.BytesIO(b"x" * size))
    return buf.getvalue(), count * size


def chunks(data: bytes, n: int = 1 << 16):
    for i in range(0, len(data), n):
        yield data[i:i + n]


def reader_for(data: bytes, content: int) -> _Reader:
    return _Reader(chunks(data), content + (content >> 4) + (1 << 20), None)  # the cache's bound


def test_many_small_files_fit_the_stream_bound_that_grows_per_entry(tmp_path: Path) -> None:
    data, content = small_files_tar(3000)
    assert len(data) > content + (content >> 4) + (1 << 20)  # what the bound alone refused
    with pytest.raises(InputError, match="larger than its stated size"):
        extract(reader_for(data, content), CID, tmp_path / "a" / CID, content)  # type: ignore[arg-type]
    reader = reader_for(data, content)
    total, is_dir = extract(reader, CID, tmp_path / "b" / CID, content, reader.allow)  # type: ignore[arg-type]
    assert (total, is_dir) == (content, True)
    assert len(list((tmp_path / "b" / CID).rglob("*.txt"))) == 3000


def test_an_input_with_too_many_entries_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_ENTRIES", 100)
    data, content = small_files_tar(200)
    reader = reader_for(data, content)
    with pytest.raises(InputError, match="more than 100 files and folders"):
        extract(reader, CID, tmp_path / CID, content, reader.allow)  # type: ignore[arg-type]
