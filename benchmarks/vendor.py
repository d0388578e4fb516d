"""Make asv's published site work offline.

asv 0.6's pages load jQuery, flot, bootstrap, md5 and stupidtable from CDNs; with no network
they show only an error page.  This fetches the exact versions those pages ask for from the
package registries (npm through the npm client, PyPI through pip), checks every file against a
pinned SHA-256 (and, where the file is the one the CDN serves, against the integrity= hash in
asv's own page), serves them from <html>/vendor/, and points the pages at them.

Where the CDN serves a file minified by the CDN itself (cdnjs: flot 0.8.3, stupidtable 1.0.1),
no registry has that byte-for-byte file: the same release's unminified source is used instead
(npm's flot@0.8.3; stupidtable from asv 0.5.1's sdist, which vendored it before asv 0.6 moved to
CDNs), pinned by its own hash.
"""

import base64
import hashlib
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

# CDN file name (the last part of the URL asv's page asks for) -> where the registry has it:
# (registry, package spec, path inside the package, pinned sha256, whether the file is the
# CDN's own byte for byte and so must also pass the integrity= hash in asv's page).
ASSETS = {
    "jquery-3.3.1.min.js": (
        "npm", "jquery@3.3.1", "package/dist/jquery.min.js",
        "160a426ff2894252cd7cebbdd6d6b7da8fcd319c65b70468f10b6690c45d02ef", True),
    "jquery.flot.min.js": (
        "npm", "flot@0.8.3", "package/jquery.flot.js",
        "b7b931f273c38b1277b9c6c1f4e05c4ec09885a487bddaf3279e2d7e49a38e12", False),
    "jquery.flot.time.min.js": (
        "npm", "flot@0.8.3", "package/jquery.flot.time.js",
        "a582c832adc7138a6b05aaf61f16ebac274701f1be4afea77e739a1c34b9c41a", False),
    "jquery.flot.selection.min.js": (
        "npm", "flot@0.8.3", "package/jquery.flot.selection.js",
        "e6c85f6c1ebe4b4da29d8ae238c7c5060283f05f7ef054f6b91817d02c092918", False),
    "jquery.flot.categories.min.js": (
        "npm", "flot@0.8.3", "package/jquery.flot.categories.js",
        "6e81664b28ea795c734906f4aa15614640a75ac7fbd399a7fb9084040698351a", False),
    "jquery.flot.orderBars.js": (
        "npm", "flot-orderbars@1.0.0", "package/js/jquery.flot.orderBars.js",
        "39735b4f46f96ff4e082572401f47c55a2767b366fd1d1e821e44a8d830a12bf", True),
    "stupidtable.min.js": (
        "pypi", "asv==0.5.1", "asv-0.5.1/asv/www/vendor/stupidtable.js",
        "712ff397a55600f8399d5bd7228d078a94d92e08202d4e4f1b085b2badebb189", False),
    "md5.min.js": (
        "npm", "blueimp-md5@2.19.0", "package/js/md5.min.js",
        "64d7ded388c562e4bde9e58ce205e5fa01b9734fcd434d496eb7b4fbfe9b927d", True),
    "bootstrap.min.js": (
        "npm", "bootstrap@3.1.1", "package/dist/js/bootstrap.min.js",
        "898d05a17f2cfc5120ddcdba47a885c378c0b466f30f0700e502757e24b403a1", True),
    "bootstrap.min.css": (
        "npm", "bootstrap@3.1.1", "package/dist/css/bootstrap.min.css",
        "e9503448692b738dd260fbd7f7cabf2e11f09b600fa97e6eb3a56eba5b1a7e9b", True),
}

#: sha256 of each package archive fetched from PyPI: pip checks the bytes against it before
#: anything runs them (an sdist's build code runs while pip prepares its metadata).
ARCHIVE_SHA256 = {
    "asv==0.5.1": "805fc3cc46c0bcf3e7baeaa16a12e4b92f1276c25490db4cb80fc541afa52bfc",
}

_CDN_TAG = re.compile(r'(?P<attr>src|href)="(?P<url>https://[^"]+/(?P<name>[^"/]+))"'
                      r'(?P<rest>[^>]*?)\s*integrity="(?P<integrity>[^"]+)"')


class VendorError(RuntimeError):
    """A library could not be fetched, or was not the file we pinned."""


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _sri(data, algorithm):
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def _fetch(registry, spec, cache):
    """The package's archive in cache, fetched once through the registry's own client."""
    cache.mkdir(parents=True, exist_ok=True)
    marker = cache / (spec.replace("/", "_") + ".archive")
    if marker.exists() and pathlib.Path(marker.read_text()).exists():
        return pathlib.Path(marker.read_text())
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        if registry == "npm":
            # npm checks the tarball against the registry's own integrity record.
            command = ["npm", "pack", "--silent", spec, "--pack-destination", tmp]
        else:
            # --require-hashes: pip refuses an archive of other bytes before building anything
            requirements = pathlib.Path(tmp) / "requirements.txt"
            requirements.write_text(f"{spec} --hash=sha256:{ARCHIVE_SHA256[spec]}\n")
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                       "--no-binary", ":all:", "--require-hashes", "--dest", tmp,
                       "-r", str(requirements)]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise VendorError(f"{command[0]} is needed to fetch {spec}: {exc}") from exc
        except subprocess.CalledProcessError as exc:
            raise VendorError(f"could not fetch {spec}: {exc.stderr.strip()[-500:]}") from exc
        (archive,) = [p for p in pathlib.Path(tmp).iterdir() if p.name != "requirements.txt"]
        kept = cache / archive.name
        shutil.move(str(archive), kept)
    marker.write_text(str(kept))
    return kept


def _cached(spec, cache):
    marker = pathlib.Path(cache) / (spec.replace("/", "_") + ".archive")
    return marker.exists() and pathlib.Path(marker.read_text()).exists()


def missing_tools(cache):
    """The registry clients that fetching the assets would need and this machine lacks."""
    needed = {registry for registry, spec, *_ in ASSETS.values() if not _cached(spec, cache)}
    return sorted("npm" for registry in needed if registry == "npm" and not shutil.which("npm"))


def fetch_assets(vendor_dir, cache):
    """Write every asset into vendor_dir, each checked against its pinned sha256."""
    vendor_dir = pathlib.Path(vendor_dir)
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for name, (registry, spec, member, sha256, _) in ASSETS.items():
        target = vendor_dir / name
        if target.exists() and _sha256(target) == sha256:
            continue
        archive = _fetch(registry, spec, pathlib.Path(cache))
        with tarfile.open(archive) as tar:
            data = tar.extractfile(member).read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise VendorError(f"{spec}:{member} does not match its pinned sha256 {sha256}")
        target.write_bytes(data)


def localise_page(path):
    """Point one page's CDN tags at vendor/, keeping an integrity check on the local file."""
    path = pathlib.Path(path)
    html = path.read_text()
    vendor_dir = path.parent / "vendor"

    def local(match):
        name = match["name"]
        if name not in ASSETS:
            raise VendorError(f"{path.name} asks for {match['url']}, which vendor.ASSETS lacks")
        data = (vendor_dir / name).read_bytes()
        algorithm = match["integrity"].split("-", 1)[0]
        if ASSETS[name][4] and _sri(data, algorithm) != match["integrity"]:
            raise VendorError(f"{name} fails the integrity hash in asv's page")
        return (f'{match["attr"]}="vendor/{name}"{match["rest"]} '
                f'integrity="{_sri(data, "sha384")}"')

    html = _CDN_TAG.sub(local, html)
    # The navbar's link to asv's project page is the one other external URL in the site.
    html = html.replace('href="https://github.com/airspeed-velocity/asv/"', 'href="index.html"')
    path.write_text(html)


def make_offline(html_dir, cache):
    """Vendor the libraries into html_dir and rewrite every page that loads them."""
    html_dir = pathlib.Path(html_dir)
    fetch_assets(html_dir / "vendor", cache)
    for page in html_dir.glob("*.html"):
        localise_page(page)


if __name__ == "__main__":
    make_offline(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ".asv/vendor-cache")
