"""The HTTP service: sentiment and translation endpoints over the pipelines, with limits and micro-batching."""

from __future__ import annotations

import asyncio
import inspect
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NlpseqError
from ..version import __version__
from .batcher import MicroBatcher
from .limits import BodySizeLimit, Limits
from .loading import ServedModel, load_in_process
from .worker import ModelProcess, ModelProcessError

STATIC = Path(__file__).with_name("static")


def load_served(kind: str, run_dir: str | os.PathLike, threads: int | None = None,
                in_process: bool = False, parser: str | os.PathLike | None = None) -> ServedModel:
    """Open ``run_dir`` as the model behind ``/v1/<kind>`` (``sentiment`` or ``translate``).

    ``parser`` (a parser run) lets a tree sentiment model answer raw text, parse by parse.

    By default the model runs in a child process (:class:`~nlpseq.serve.worker.ModelProcess`);
    ``in_process`` loads it here. Weights come from the run's safetensors file; nothing is unpickled.
    """
    if not in_process:
        proc = ModelProcess(kind, run_dir, threads, parser=parser)
        meta = proc.meta
        return ServedModel(meta["name"], meta["task"], meta["model"], meta["labels"], proc, meta["info"],
                           close=proc.close)
    return load_in_process(kind, run_dir, threads, parser)


class _Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="one text (or give 'texts')")
    texts: list[str] | None = Field(None, description="several texts, answered in order")

    def items(self) -> list[str]:
        if (self.text is None) == (self.texts is None):
            raise _unprocessable("give exactly one of 'text' and 'texts'")
        return [self.text] if self.text is not None else list(self.texts or [])


class SentimentRequest(_Texts):
    phrases: bool = Field(False, description="tree models: a label for every phrase, and the labelled tree")
    render: bool = Field(False, description="tree models: an SVG drawing of each labelled tree")


class TranslateRequest(_Texts):
    beam: int | None = Field(None, ge=1, description="beam size; 1 is greedy; default: the model's")
    n_best: int = Field(1, ge=1, description="return the K best translations of each text")


class Phrase(BaseModel):
    text: str
    label: str
    score: float
    scores: dict[str, float]


class SentimentAnswer(BaseModel):
    label: str
    score: float
    scores: dict[str, float]
    tree: str | None = None
    phrases: list[Phrase] | None = None
    svg: str | None = None


class Hypothesis(BaseModel):
    translation: str
    score: float


class TranslationAnswer(BaseModel):
    translation: str
    score: float
    n_best: list[Hypothesis] | None = None


class SentimentResponse(BaseModel):
    model: str
    results: list[SentimentAnswer]


class TranslateResponse(BaseModel):
    model: str
    results: list[TranslationAnswer]


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


_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (404, 413, 422, 503)}


def create_app(models: dict[str, ServedModel], limits: Limits | None = None) -> FastAPI:
    """The FastAPI app serving ``models`` (keys ``sentiment`` and/or ``translate``) under ``limits``."""
    limits = limits or Limits()
    batchers = {kind: MicroBatcher(m.answer, limits.max_batch, limits.max_wait_ms, limits.batching)
                for kind, m in models.items()}

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
                  description="Sentiment analysis and translation with recurrent and recursive networks.", **extra)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": (), "type": ""}
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
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
        # A 503 is temporary: the model is busy or restarting, and the service is still up.
        return JSONResponse(body, status_code=exc.status, headers={"Retry-After": "1"} if exc.status == 503 else None)

    async def run(kind: str, items: list[str], **options: Any) -> list[dict]:
        if kind not in models:
            raise _Refusal(404, f"no {kind} model is loaded (start the service with --{kind} RUN_DIR)")
        if not items:
            raise _unprocessable("'texts' is empty")
        if len(items) > limits.max_texts:
            raise _over_limit(f"{len(items)} texts, over the limit of {limits.max_texts}", "max_texts")
        for i, t in enumerate(items):
            if len(t) > limits.max_chars:
                raise _over_limit(f"text {i} has {len(t)} characters, over the limit of {limits.max_chars}",
                                  "max_chars")
        try:
            return await asyncio.wait_for(batchers[kind].submit(items, **options), limits.timeout_s)
        except asyncio.TimeoutError:
            raise _Refusal(503, f"the {kind} model did not answer within {limits.timeout_s:g} s (timeout_s)") from None
        except ModelProcessError as exc:
            raise _Refusal(503, f"the {kind} model failed: {exc}") from None
        except (NlpseqError, ValueError) as exc:
            raise _unprocessable(str(exc)) from None

    @app.post("/v1/sentiment", response_model=SentimentResponse, response_model_exclude_none=True,
              responses=_ERRORS, summary="Label texts (or, for tree models, every phrase of bracketed trees)")
    async def sentiment(req: SentimentRequest) -> dict[str, Any]:
        results = await run("sentiment", req.items(), phrases=req.phrases, render=req.render)
        return {"model": models["sentiment"].name, "results": results}

    @app.post("/v1/translate", response_model=TranslateResponse, response_model_exclude_none=True,
              responses=_ERRORS, summary="Translate texts with beam search")
    async def translate(req: TranslateRequest) -> dict[str, Any]:
        if req.beam is not None and req.beam > limits.max_beam:
            raise _over_limit(f"beam {req.beam} is over the limit of {limits.max_beam}", "max_beam")
        if req.n_best > (req.beam or limits.max_beam):
            raise _unprocessable(f"n_best {req.n_best} is larger than the beam")
        results = await run("translate", req.items(), beam=req.beam, n_best=req.n_best)
        return {"model": models["translate"].name, "results": results}

    @app.get("/healthz", summary="Liveness, and how many model calls and texts each model has served")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": {kind: {"model_calls": b.batches, "texts": b.items}
                                           for kind, b in batchers.items()}}

    @app.get("/v1/models", summary="The loaded models")
    async def list_models() -> dict[str, Any]:
        return {"nlpseq": __version__, "models": [
            {"endpoint": f"/v1/{kind}", "name": m.name, "task": m.task, "model": m.model, "labels": m.labels,
             "version": m.info.get("nlpseq", __version__), "parser": m.info.get("parser")}
            for kind, m in models.items()]}

    page = (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    return app
