"""The offline site's libraries (benchmarks/vendor.py): pinned bytes, checked before anything
runs them; the main job checks for npm before measuring."""

import pytest

import history
import publishing
import repo
import vendor


def test_every_pypi_archive_has_a_pinned_sha256():
    archives = [spec for registry, spec, *_ in vendor.ASSETS.values() if registry == "pypi"]
    assert archives, "no asset of vendor.ASSETS comes from pypi: nothing here was checked"
    for spec in archives:
        assert len(vendor.ARCHIVE_SHA256[spec]) == 64


@pytest.mark.slow
def test_an_archive_of_other_bytes_is_refused_before_it_is_built(tmp_path, monkeypatch):
    # a wrong pin: pip must refuse the download on its hash, before preparing (building) it
    monkeypatch.setitem(vendor.ARCHIVE_SHA256, "asv==0.5.1", "0" * 64)
    with pytest.raises(vendor.VendorError, match="could not fetch asv==0.5.1") as error:
        vendor._fetch("pypi", "asv==0.5.1", tmp_path)
    assert "tampered" in str(error.value) and "805fc3cc" in str(error.value)  # the bytes got
    assert not list(tmp_path.glob("*.tar.gz"))


def test_the_main_job_stops_before_measuring_without_npm(tmp_path, monkeypatch):
    monkeypatch.setattr(vendor.shutil, "which", lambda name: None)
    monkeypatch.setattr(history.shutil, "which", lambda name: None)
    # a checkout whose main job already ran has the libraries cached: not this one
    monkeypatch.setattr(publishing, "VENDOR_CACHE", tmp_path / "empty-cache")
    assert vendor.missing_tools(tmp_path / "empty-cache") == ["npm"]

    class Args:
        publish_only = False
    with pytest.raises(repo.ToolError, match="npm not found.*nothing was measured"):
        history.preflight(Args())
