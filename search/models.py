"""Which models a visitor may use, loaded once per backend and kept in a small LRU cache."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from core.paths import export_path
from export.runtime import OnnxEncoder, is_export, read_export_config
from zoo import load_model
from zoo.factory import local_zoo_names, registered, status
from zoo.registry import UnknownModelError

BACKENDS = ("PyTorch", "ONNX", "ONNX int8")
BACKEND_CHECK_S = 5.0  # how long a model's exports are taken as known (the background build adds some)


class ModelCache:
    def __init__(self, max_models: int = 4, onnx_threads: int | None = None, operator_models: tuple[str, ...] = ()):
        """`onnx_threads`: onnxruntime threads per ONNX model (None: onnxruntime's default).
        `operator_models`: names or paths the person who started the app chose on its command line
        (`--teacher ./my-open-clip-folder`); offered beside the zoo, never added by a visitor."""
        self.max_models, self.onnx_threads = max_models, onnx_threads
        self.operator_models = tuple(operator_models)
        self._models: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._backends: dict[tuple[str, str], float] = {}  # (name, backend) -> when it was last seen available
        self._lock = threading.RLock()

    def offered_models(self) -> list[str]:
        """Every name the app may load: the zoo's checkpoints, the registered models that are
        ready without a download, and the operator's own. Nothing else is ever opened on a
        visitor's request."""
        ready = [n for n, spec in registered().items() if status(spec).startswith("ready")]
        return sorted(set(ready) | set(local_zoo_names()) | set(self.operator_models))

    def require_offered(self, name: Any, zoo_only: bool = False) -> str:
        """`name` if the app offers it (a zoo checkpoint with `zoo_only`); otherwise a refusal
        that names the choices, raised before any file is opened."""
        names = local_zoo_names() if zoo_only else self.offered_models()
        if not isinstance(name, str) or name not in names:
            shown = repr(name)[:80]
            raise UnknownModelError(f"unknown model {shown}; this app offers: {', '.join(names) or 'nothing yet'}")
        return name

    def encoder(self, name: str, backend: str):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        key = (name, backend)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            self.require_offered(name)
            if backend == "PyTorch":
                model = load_model(name)
            else:
                path = export_path(name)
                if not path.is_dir():
                    raise FileNotFoundError(f"no ONNX export of {name} yet (python -m export.onnx --model {name} --int8)")
                model = OnnxEncoder(path, variant="int8" if backend == "ONNX int8" else "fp32", threads=self.onnx_threads)
            self._models[key] = model
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return model

    def has_backend(self, name: str, backend: str) -> bool:
        """Whether `name` can run on `backend`: PyTorch always; ONNX with an export, int8 with a
        published one. A yes is remembered for BACKEND_CHECK_S (a no is not: the background build
        may export the model any moment): it is asked twice per query, and the check reads the
        zoo's listing and the export's config from disk."""
        if backend == "PyTorch":
            return True
        key = (name, backend)
        since = self._backends.get(key)
        if since is not None and time.monotonic() - since < BACKEND_CHECK_S:
            return True
        path = export_path(self.require_offered(name))
        ok = is_export(path) and (backend != "ONNX int8" or bool(read_export_config(path).get("int8", {}).get("published")))
        if ok:
            self._backends[key] = time.monotonic()
        return ok

    def panel_backend(self, name: str, backend: str) -> tuple[str, str | None]:
        """The backend a panel runs: the one asked for, or PyTorch, said in the panel, when `name`
        has no such export yet (a teacher is exported after its students on a first start)."""
        try:
            if backend not in BACKENDS or self.has_backend(name, backend):
                return backend, None
        except (UnknownModelError, ValueError, OSError):
            return backend, None  # the panel's own error says what is wrong with the name
        return "PyTorch", f"PyTorch: no {backend} export of {name} yet"

    def best_backend(self, names: list[str]) -> str:
        """The fastest backend every one of `names` has: the app's default."""
        for backend in ("ONNX int8", "ONNX"):
            if names and all(self.has_backend(n, backend) for n in names):
                return backend
        return "PyTorch"
