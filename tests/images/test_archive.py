"""Docker-archive tars written by gpurent: reproducible, readable, and loadable by a real engine."""

from __future__ import annotations

import pytest

from gpurent.errors import ImageError
from gpurent.images.archive import read_archive
from tests.services import make_image, run_to_end


def test_same_files_give_the_same_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, info1 = make_image(tmp_path / "a", "repro/app:1", b"payload")
    second, info2 = make_image(tmp_path / "b", "repro/app:1", b"payload")
    assert first.read_bytes() == second.read_bytes()
    assert info1 == info2
    _, other = make_image(tmp_path / "a", "repro/app:2", b"other payload")
    assert other.image_id != info1.image_id


def test_read_archive_reports_name_tag_and_id(tmp_path):
    path, info = make_image(tmp_path, "registry.example/team/app:v2", b"x")
    read = read_archive(path)
    assert read == info
    assert (read.name, read.tag) == ("registry.example/team/app", "v2")


def test_a_tar_that_is_not_an_image_is_refused(tmp_path):
    import tarfile

    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as tar:
        tar.add(__file__, arcname="notes.txt")
    with pytest.raises(ImageError, match="not a docker-archive"):
        read_archive(bogus)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ImageError, match="not a docker-archive"):
        read_archive(junk)


def test_the_engine_loads_and_runs_it(tmp_path, engine):
    path, info = make_image(tmp_path, "gpurent-test/hello:1", b"hello from the layer\n")
    try:
        with path.open("rb") as handle:
            loaded = engine.images.load(handle)
        assert loaded[0].id == info.image_id
        output = run_to_end(engine, info.image_id)
        assert output == b"hello from the layer\n"
    finally:
        engine.images.remove(info.image_id, force=True)
