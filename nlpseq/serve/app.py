"""The HTTP service: an endpoint per served run, built from its task's declarations, over the pipelines,
with limits and micro-batching."""

from __future__ import annotations

import asyncio
import copy
import inspect
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InputError, NlpseqError, check_unicode, printable
from ..registry import TASKS
from ..tasks.base import Task
from ..version import __version__
from .batcher import MicroBatcher, QueueFull
from .limits import BodySizeLimit, Limits, QueueGate
from .loading import ServedModel, load_in_process
from .worker import ModelProcess, ModelProcessError

STATIC = Path(__file__).with_name("static")


def load_served(name: str, run_dir: str | os.PathLike, threads: int | None = None, in_process: bool = False,
                parser: str | os.PathLike | None = None, pipeline: str | None = None,
                max_restarts: int = 3, precision: str | None = None) -> ServedModel:
    """Open ``run_dir`` as the model behind ``/v1/<name>``; the run's own task decides what it answers.

    ``pipeline`` (such as ``sentiment``) refuses a run that does not answer that pipeline; ``parser``
    (a parser run) lets a tree sentiment model answer raw text, parse by parse; a model process that
    dies is started again up to ``max_restarts`` times.

    By default the model runs in a child process (:class:`~nlpseq.serve.worker.ModelProcess`);
    ``in_process`` loads it here. Weights come from the run's safetensors file; nothing is unpickled.
    """
    if not in_process:
        proc = ModelProcess(name, run_dir, threads, parser=parser, pipeline=pipeline, max_restarts=max_restarts,
                            precision=precision)
        meta = proc.meta
        return ServedModel(meta["name"], meta["task"], meta["model"], meta["labels"], proc, meta["info"],
                           close=proc.close)
    return load_in_process(name, run_dir, threads, parser, pipeline, precision)


def _request_model(endpoint: str, task: type[Task]) -> type[BaseModel]:
    """The request body of ``/v1/<endpoint>``: ``text`` or ``texts`` of the task's input type, and the
    task's answer options with the service's defaults."""
    fields: dict[str, Any] = {
        "text": (task.Input | None, Field(None, description="one input (or give 'texts')")),
        "texts": (list[task.Input] | None, Field(None, description="several inputs, answered in order"))}
    for key, info in task.AnswerOptions.model_fields.items():
        info = copy.copy(info)
        info.default = task.service_defaults.get(key, info.default)
        fields[key] = (info.annotation, info)
    return create_model(f"{_title(endpoint)}Request", __base__=_Inputs, **fields)


def _title(endpoint: str) -> str:
    return "".join(part.capitalize() for part in endpoint.replace("-", "_").split("_"))


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def items(self) -> list[Any]:
        text, texts = getattr(self, "text"), getattr(self, "texts")
        if (text is None) == (texts is None):
            raise _unprocessable("give exactly one of 'text' and 'texts'")
        return [text] if text is not None else list(texts or [])

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude={"text", "texts"})


class ErrorResponse(BaseModel):
    error: str
    limit: str | None = None


class _Refusal(Exception):
    """A request the service answers with ``status`` and ``{"error": message[, "limit": limit]}``."""

    def __init__(self, status: int, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.status, self.limit = status, limit


def _unprocessable(message: str) -> _Refusal:
    return _Refusal(422, message)


def _over_limit(message: str, limit: str) -> _Refusal:
    return _Refusal(413, f"{message} ({limit})", limit)


_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (404, 413, 422, 429, 503)}


def create_app(models: dict[str, ServedModel], limits: Limits | None = None) -> FastAPI:
    """The FastAPI app serving each of ``models`` at ``POST /v1/<key>`` under ``limits``.

    Each endpoint's request and response come from what the served run's task declares
    (``Task.Input``, ``Task.AnswerOptions``, ``Task.Answer``): any task with a pipeline can be served.
    """
    limits = limits or Limits()
    for name in models:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise NlpseqError(f"'{name}': an endpoint name is letters, digits, '-' and '_'")
    batchers = {name: MicroBatcher(m.answer, limits.max_batch, limits.max_wait_ms, limits.batching, limits.max_queue)
                for name, m in models.items()}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for b in batchers.values():
            b.close()

    extra: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # OpenTelemetry hooks cost a provider lookup per request; nothing here configures them.
        extra["telemetry"] = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(title="nlpseq", version=__version__, lifespan=lifespan,
                  description="Sentiment analysis, translation, parsing and more with recurrent and recursive networks.",
                  **extra)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes, timeout_s=limits.body_timeout_s)
    app.add_middleware(QueueGate, queues=batchers)  # the outermost: a full queue refuses before anything else

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": (), "type": ""}
        loc = [printable(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            message = f"malformed JSON at character {loc[0]}" if loc else "malformed JSON"
        elif err.get("type") == "model_attributes_type" and not loc:
            message = "the request body must be a JSON object"
        else:
            message = f"{'.'.join(loc)}: {err['msg']}" if loc else err["msg"]
        return JSONResponse({"error": message}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(_Refusal)
    async def _refused(request: Request, exc: _Refusal) -> JSONResponse:
        body = {"error": str(exc)} if exc.limit is None else {"error": str(exc), "limit": exc.limit}
        # 429 and 503 are temporary: the model is busy or restarting, and the service is still up.
        retry = {"Retry-After": "1"} if exc.status in (429, 503) else None
        return JSONResponse(body, status_code=exc.status, headers=retry)

    async def run(name: str, items: list[Any], **options: Any) -> list[dict]:
        if not items:
            raise _unprocessable("'texts' is empty")
        if len(items) > limits.max_texts:
            raise _over_limit(f"{len(items)} texts, over the limit of {limits.max_texts}", "max_texts")
        for i, t in enumerate(items):
            if len(t) > limits.max_chars:
                what = "characters" if isinstance(t, str) else "values"
                raise _over_limit(f"text {i} has {len(t)} {what}, over the limit of {limits.max_chars}", "max_chars")
        total = sum(len(t) for t in items)
        if total > limits.max_request_chars:
            raise _over_limit(f"the texts have {total} characters in all, over the limit of "
                              f"{limits.max_request_chars} per request", "max_request_chars")
        if (options.get("beam") or 0) > limits.max_beam:
            raise _over_limit(f"beam {options['beam']} is over the limit of {limits.max_beam}", "max_beam")
        try:
            return await asyncio.wait_for(batchers[name].submit(items, **options), limits.timeout_s)
        except QueueFull as exc:  # refused at once: waiting would only time out later, and slow the rest
            raise _Refusal(429, f"the {name} model is busy: {exc}; retry after a second", "max_queue") from None
        except asyncio.TimeoutError:
            raise _Refusal(503, f"the {name} model did not answer within {limits.timeout_s:g} s (timeout_s)") from None
        except ModelProcessError as exc:
            raise _Refusal(503, f"the {name} model failed: {exc}") from None
        except (NlpseqError, ValueError) as exc:
            raise _unprocessable(str(exc)) from None

    def add_endpoint(name: str, served: ServedModel) -> None:
        task = TASKS.get(served.task)
        request = _request_model(name, task)
        response = create_model(f"{_title(name)}Response", model=(str, ...),
                                results=(list[task.Answer] if task.Answer else list[dict[str, Any]], ...))

        async def endpoint(req: BaseModel) -> dict[str, Any]:
            try:  # before any model sees it: no tokenizer or JSON encoder takes a lone surrogate
                check_unicode(req.model_dump(exclude_none=True), "body")
            except InputError as exc:
                raise _unprocessable(str(exc).removeprefix("body.")) from None
            return {"model": served.name, "results": await run(name, req.items(), **req.options())}

        # FastAPI reads the body's model from the signature; this one is built per task.
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("req", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=request)])
        app.post(f"/v1/{name}", response_model=response, response_model_exclude_none=True, responses=_ERRORS,
                 summary=f"Answers of a {served.task} model ({served.name})", operation_id=f"answer_{name}")(endpoint)

    for name, served in models.items():
        add_endpoint(name, served)

    @app.post("/v1/{name}", responses=_ERRORS, include_in_schema=False)
    async def not_served(name: str) -> None:
        raise _Refusal(404, f"no model is served as '{name}' (served: {', '.join(models) or 'none'}; "
                            f"start the service with --model {name}=RUN_DIR, or --{name} RUN_DIR)")

    @app.get("/healthz", summary="Liveness, and how many model calls and texts each model has served")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": {
            name: {"model_calls": b.batches, "texts": b.items, "waiting": b.pending, "refused": b.refused,
                   "restarts": getattr(models[name].answer, "restarts", 0)} for name, b in batchers.items()}}

    @app.get("/v1/models", summary="The loaded models")
    async def list_models() -> dict[str, Any]:
        return {"nlpseq": __version__, "models": [
            {"endpoint": f"/v1/{name}", "name": m.name, "task": m.task, "model": m.model, "labels": m.labels,
             "version": m.info.get("nlpseq", __version__), "parser": m.info.get("parser"),
             "options": list(TASKS.get(m.task).AnswerOptions.model_fields)}
            for name, m in models.items()]}

    page = (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    return app
