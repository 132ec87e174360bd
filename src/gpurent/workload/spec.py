"""Job definitions: the small, content-addressed document a job's CID commits to on chain.

A definition names the image (its CID), optionally the entrypoint / command, environment,
read-only inputs (CID -> mount path), the output path, the network request, the ports it
serves (reached only through the provider agent's authenticated ingress), the key results
are sealed to and the secrets sealed to the provider. Everything in it is untrusted by whoever
reads it (the provider's agent, another renter's CLI): :class:`JobSpec` validates every field
against the bounds below and says in one line which field is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gpurent.errors import ImageError, InvalidInput, ServiceUnavailable
from gpurent.images.kubo import KuboClient
from gpurent.safejson import loads_bounded

FORMAT = 1
MAX_SPEC_BYTES = 64 * 1024
MAX_ENV = 64
MAX_ENV_VALUE = 4096
MAX_ARGS = 64
MAX_ARG = 4096
MAX_INPUTS = 16
MAX_SECRETS = 16
MAX_SEALED = 8 * 1024
MAX_PATH = 256
MAX_PORTS = 8
PROTOCOLS = ("http", "tcp")
RESERVED_PREFIXES = ("GPURENT_", "NVIDIA_")
RESERVED_NAMES = frozenset({"CUDA_VISIBLE_DEVICES"})
SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64",
               "/scratch", "/tmp", "/run", "/var/tmp")
IMAGE_METADATA = "gpurent.json"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_PATH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_KEYS = frozenset({"gpurent_job", "image", "entrypoint", "command", "env", "inputs", "output", "network",
                   "ports", "result_key", "secrets"})
_EMPTY: Mapping[str, str] = MappingProxyType({})


class SpecError(ValueError):
    """A job definition that is not valid; the message is one line naming the field."""


def _cid(value: Any, what: str) -> str:
    from gpurent.images.store import validate_cid

    if not isinstance(value, str) or len(value) > 128:
        raise SpecError(f"{what}: not a CID")
    try:
        return validate_cid(value)
    except InvalidInput:
        raise SpecError(f"{what}: {_show(value)} is not a CID") from None


def _show(value: str, limit: int = 40) -> str:
    """A short, escaped rendering of an untrusted string for an error message."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return ascii(text)


def _b64_key(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{what}: must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SpecError(f"{what}: not valid base64") from None
    if len(raw) != 32:
        raise SpecError(f"{what}: must be a 32-byte X25519 public key, got {len(raw)} bytes")
    return value


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = _show(name) if isinstance(name, str) else type(name).__name__
        raise SpecError(f"{what}: name {shown} must match [A-Za-z_][A-Za-z0-9_]{{0,127}}")
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise SpecError(f"{what}: name {name} is reserved (the provider sets GPURENT_*, NVIDIA_*, "
                        "CUDA_VISIBLE_DEVICES)")
    return name


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{what}: must be a string")
    if "\x00" in value:
        raise SpecError(f"{what}: contains a NUL byte")
    if len(value.encode("utf-8", "surrogatepass")) > limit:
        raise SpecError(f"{what}: longer than {limit} bytes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(f"{what}: not valid UTF-8") from None
    return value


def check_path(path: Any, what: str) -> str:
    """An absolute, normalised container path outside the container's own and scratch dirs."""
    if not isinstance(path, str):
        raise SpecError(f"{what}: path must be a string")
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH:
        raise SpecError(f"{what}: path longer than {MAX_PATH} bytes")
    if not _PATH_CHARS.fullmatch(path):
        raise SpecError(f"{what}: path {_show(path)} may only use A-Z a-z 0-9 . _ / -")
    if not path.startswith("/") or path == "/":
        raise SpecError(f"{what}: path {_show(path)} must be absolute and not /")
    parts = path[1:].split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise SpecError(f"{what}: path {_show(path)} must be normalised (no empty, . or .. parts, "
                        "no trailing /)")
    for system in SYSTEM_DIRS:
        if _nested(path, system):
            raise SpecError(f"{what}: path {path} is under or over {system} (the container's own dirs)")
    return path


def _nested(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are equal or one holds the other."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _args(value: Any, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise SpecError(f"{what}: must be a list of strings")
    if not value:
        raise SpecError(f"{what}: must not be empty (leave it out for the image's own)")
    if len(value) > MAX_ARGS:
        raise SpecError(f"{what}: more than {MAX_ARGS} arguments")
    return tuple(_text(arg, f"{what}[{i}]", MAX_ARG) for i, arg in enumerate(value))


@dataclass(frozen=True)
class InputMount:
    cid: str
    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "cid", _cid(self.cid, "inputs.cid"))
        check_path(self.path, "inputs.path")

    def to_json(self) -> dict[str, str]:
        return {"cid": self.cid, "path": self.path}


@dataclass(frozen=True)
class PortSpec:
    """A port the job serves on its own loopback or any address (it has no other network):
    ``http`` is reached at ``<provider endpoint>/jobs/<id>/ports/<port>/…`` and through
    ``gpurent jobs port-forward``, ``tcp`` only through port-forward. ``public``: an HTTP port
    anyone may call (an inference endpoint); otherwise only the renter."""

    port: int
    protocol: str = "http"
    public: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 1 <= self.port <= 65535:
            raise SpecError("ports.port: must be a whole number from 1 to 65535")
        if self.protocol not in PROTOCOLS:
            raise SpecError(f"ports.protocol: must be one of {', '.join(PROTOCOLS)}")
        if not isinstance(self.public, bool):
            raise SpecError("ports.public: must be true or false")
        if self.public and self.protocol != "http":
            raise SpecError(f"ports.public: port {self.port} is tcp; only an http port can be public")

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"port": self.port, "protocol": self.protocol}
        if self.public:
            doc["public"] = True
        return doc


@dataclass(frozen=True)
class SealedSecrets:
    provider: str  # 0x…, lower case
    key: str  # base64 of the provider's 32-byte X25519 public key the values are sealed to
    sealed: Mapping[str, str]  # NAME -> base64 sealed box

    def __post_init__(self) -> None:
        if not isinstance(self.provider, str) or not _ADDRESS.fullmatch(self.provider):
            raise SpecError("secrets.provider: must be a lower-case 0x address")
        _b64_key(self.key, "secrets.key")
        if not isinstance(self.sealed, Mapping) or not self.sealed:
            raise SpecError("secrets.sealed: must be a non-empty table NAME -> sealed value")
        if len(self.sealed) > MAX_SECRETS:
            raise SpecError(f"secrets: more than {MAX_SECRETS}")
        for name, value in self.sealed.items():
            check_name(name, "secrets")
            if not isinstance(value, str) or len(value) > MAX_SEALED * 4 // 3 + 4:
                raise SpecError(f"secrets.{name}: sealed value must be base64 of at most {MAX_SEALED} bytes")
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise SpecError(f"secrets.{name}: sealed value is not valid base64") from None
            if not 48 < len(raw) <= MAX_SEALED:
                raise SpecError(f"secrets.{name}: sealed value must be 49..{MAX_SEALED} bytes")
        object.__setattr__(self, "sealed", MappingProxyType(dict(sorted(self.sealed.items()))))

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "key": self.key, "sealed": dict(self.sealed)}


@dataclass(frozen=True)
class JobSpec:
    image: str
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    inputs: tuple[InputMount, ...] = ()
    output: str | None = None
    network: bool = False
    ports: tuple[PortSpec, ...] = ()
    result_key: str | None = None  # base64 32-byte X25519 public key results are sealed to
    secrets: SealedSecrets | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _cid(self.image, "image"))
        object.__setattr__(self, "entrypoint", _args(self.entrypoint, "entrypoint"))
        object.__setattr__(self, "command", _args(self.command, "command"))
        if not isinstance(self.env, Mapping):
            raise SpecError("env: must be a table NAME = value")
        if len(self.env) > MAX_ENV:
            raise SpecError(f"env: more than {MAX_ENV} variables")
        for name, value in self.env.items():
            check_name(name, "env")
            _text(value, f"env.{name}", MAX_ENV_VALUE)
        object.__setattr__(self, "env", MappingProxyType(dict(sorted(self.env.items()))))
        if not isinstance(self.inputs, (tuple, list)):
            raise SpecError("inputs: must be a list")
        if len(self.inputs) > MAX_INPUTS:
            raise SpecError(f"inputs: more than {MAX_INPUTS}")
        if not all(isinstance(m, InputMount) for m in self.inputs):
            raise SpecError("inputs: each must be an InputMount")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        mounts = [(m.path, "inputs.path") for m in self.inputs]
        if self.output is not None:
            mounts.append((check_path(self.output, "output"), "output"))
        for i, (a, what) in enumerate(mounts):
            for b, _ in mounts[i + 1:]:
                if _nested(a, b):
                    raise SpecError(f"{what}: mount paths {a} and {b} are equal or nested")
        if not isinstance(self.network, bool):
            raise SpecError("network: must be true or false")
        if not isinstance(self.ports, (tuple, list)) or not all(isinstance(p, PortSpec) for p in self.ports):
            raise SpecError("ports: must be a list of ports")
        if len(self.ports) > MAX_PORTS:
            raise SpecError(f"ports: more than {MAX_PORTS}")
        numbers = [p.port for p in self.ports]
        if len(set(numbers)) != len(numbers):
            raise SpecError("ports: a port is declared twice")
        object.__setattr__(self, "ports", tuple(sorted(self.ports, key=lambda p: p.port)))
        if self.result_key is not None:
            _b64_key(self.result_key, "result_key")
        if self.secrets is not None:
            if not isinstance(self.secrets, SealedSecrets):
                raise SpecError("secrets: must be SealedSecrets")
            clash = sorted(set(self.secrets.sealed) & set(self.env))
            if clash:
                raise SpecError(f"secrets: {clash[0]} is also an env name")

    @property
    def is_bare(self) -> bool:
        """Only an image: committed on chain as the image CID itself, as before definitions."""
        return self == JobSpec(image=self.image)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"gpurent_job": FORMAT, "image": self.image}
        if self.entrypoint is not None:
            doc["entrypoint"] = list(self.entrypoint)
        if self.command is not None:
            doc["command"] = list(self.command)
        if self.env:
            doc["env"] = dict(self.env)
        if self.inputs:
            doc["inputs"] = [m.to_json() for m in self.inputs]
        if self.output is not None:
            doc["output"] = self.output
        if self.network:
            doc["network"] = True
        if self.ports:
            doc["ports"] = [p.to_json() for p in self.ports]
        if self.result_key is not None:
            doc["result_key"] = self.result_key
        if self.secrets is not None:
            doc["secrets"] = self.secrets.to_json()
        return doc

    def to_bytes(self) -> bytes:
        data = canonical(self.to_json())
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"definition: {len(data)} bytes, over {MAX_SPEC_BYTES}")
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> JobSpec:
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"definition: over {MAX_SPEC_BYTES} bytes")
        try:
            doc = loads_bounded(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise SpecError("definition: not valid UTF-8") from None
        except ValueError:
            raise SpecError("definition: not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("gpurent_job") != FORMAT:
            raise SpecError(f"definition: not a gpurent job definition (gpurent_job must be {FORMAT})")
        return cls.from_json(doc)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> JobSpec:
        unknown = sorted(set(doc) - _KEYS)
        if unknown:
            raise SpecError(f"definition: unknown field {_show(str(unknown[0]))}")
        if "image" not in doc:
            raise SpecError("image: missing")
        env = doc.get("env", {})
        if not isinstance(env, dict):
            raise SpecError("env: must be a table NAME = value")
        inputs = doc.get("inputs", [])
        if not isinstance(inputs, list):
            raise SpecError("inputs: must be a list")
        if len(inputs) > MAX_INPUTS:
            raise SpecError(f"inputs: more than {MAX_INPUTS}")
        mounts = []
        for item in inputs:
            if not isinstance(item, dict) or set(item) != {"cid", "path"}:
                raise SpecError("inputs: each must have exactly cid and path")
            mounts.append(InputMount(item["cid"], item["path"]))
        secrets = doc.get("secrets")
        sealed = None
        if secrets is not None:
            if not isinstance(secrets, dict) or set(secrets) != {"provider", "key", "sealed"}:
                raise SpecError("secrets: must have exactly provider, key and sealed")
            sealed = SealedSecrets(secrets["provider"], secrets["key"], secrets["sealed"])
        output = doc.get("output")
        result_key = doc.get("result_key")
        return cls(image=doc["image"], entrypoint=doc.get("entrypoint"), command=doc.get("command"),
                   env=env, inputs=tuple(mounts), output=output, network=doc.get("network", False),
                   ports=_ports(doc.get("ports", [])), result_key=result_key, secrets=sealed)

    def port(self, number: int) -> PortSpec | None:
        """The declared port ``number``, if any."""
        return next((p for p in self.ports if p.port == number), None)

    @classmethod
    def from_toml(cls, path: Path) -> JobSpec:
        """The same fields as a TOML file (``[env]``, ``[[inputs]]``); no secrets in it."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_SPEC_BYTES + 1)
        except OSError as err:
            raise SpecError(f"{path}: cannot read it ({err.strerror})") from None
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: over {MAX_SPEC_BYTES} bytes")
        try:
            doc = tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise SpecError(f"{path}: not valid UTF-8") from None
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{path}: not valid TOML ({str(err).splitlines()[0]})") from None
        if "secrets" in doc:
            raise SpecError(f"{path}: secrets do not belong in the file; pass --secret NAME")
        doc.pop("gpurent_job", None)
        return cls.from_json(doc)


def _ports(value: Any) -> tuple[PortSpec, ...]:
    if not isinstance(value, list):
        raise SpecError("ports: must be a list")
    if len(value) > MAX_PORTS:
        raise SpecError(f"ports: more than {MAX_PORTS}")
    found = []
    for item in value:
        if not isinstance(item, dict) or "port" not in item or not set(item) <= {"port", "protocol", "public"}:
            raise SpecError("ports: each must have a port, and optionally protocol and public")
        found.append(PortSpec(item["port"], item.get("protocol", "http"), item.get("public", False)))
    return tuple(found)


def canonical(doc: Any) -> bytes:
    """Canonical JSON: sorted keys, compact, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def read_definition(ipfs: KuboClient, cid: str, timeout_s: float) -> JobSpec:
    """The definition a job's CID names: a bare image CID (a directory holding gpurent.json)
    -> ``JobSpec(image=cid)``; a file -> at most 64 KiB read and parsed; anything else
    SpecError. A node that fails is ServiceUnavailable (worth asking again)."""
    cid = _cid(cid, "job CID")
    try:
        stat = ipfs.stat(cid, timeout=timeout_s)
    except ImageError as err:
        raise SpecError(f"job CID {cid}: cannot be read ({str(err).splitlines()[0][:200]})") from None
    kind = stat.get("Type")
    if kind == "directory":
        try:
            names = ipfs.ls(cid, timeout=timeout_s)
        except ImageError as err:
            raise SpecError(f"job CID {cid}: cannot be listed ({str(err).splitlines()[0][:200]})") from None
        if IMAGE_METADATA not in names:
            raise SpecError(f"job CID {cid}: a directory that is not a gpurent image")
        return JobSpec(image=cid)
    if kind != "file":
        raise SpecError(f"job CID {cid}: neither a definition nor an image")
    size = stat.get("Size")
    if not isinstance(size, int) or size > MAX_SPEC_BYTES:
        raise SpecError(f"job CID {cid}: definition over {MAX_SPEC_BYTES} bytes")
    try:
        data = ipfs.cat_bytes(cid, length=MAX_SPEC_BYTES + 1, timeout=timeout_s)
    except ImageError as err:
        raise SpecError(f"job CID {cid}: cannot be read ({str(err).splitlines()[0][:200]})") from None
    except ServiceUnavailable:
        raise
    return JobSpec.from_bytes(data)
