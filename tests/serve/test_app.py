"""The HTTP service through FastAPI's test client, on models trained from the bundled samples."""

import threading
import time

import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from nlpseq.serve import Limits, ServedModel, create_app, load_served  # noqa: E402

from .live import right_branching  # noqa: E402


@pytest.fixture(scope="module")
def served(tiny_run, mt_run, rntn_run):
    return {"sentiment": load_served("sentiment", tiny_run), "translate": load_served("translate", mt_run),
            "trees": load_served("sentiment", rntn_run)}


@pytest.fixture(scope="module")
def client(served):
    app = create_app({"sentiment": served["sentiment"], "translate": served["translate"]},
                     Limits(max_texts=8, max_chars=200, max_body_bytes=4096, max_beam=6))
    with TestClient(app) as c:
        yield c


def test_sentiment_answers_like_the_pipeline(client, tiny_run):
    import nlpseq

    texts = ["A gorgeous, witty film.", "Dull and lifeless."]
    res = client.post("/v1/sentiment", json={"texts": texts})
    assert res.status_code == 200
    body = res.json()
    assert body["model"] == tiny_run.name
    expect = nlpseq.pipeline("sentiment", model=tiny_run)(texts)
    assert [r["label"] for r in body["results"]] == [e["label"] for e in expect]
    for got, want in zip(body["results"], expect):
        assert got["score"] == pytest.approx(want["score"], abs=1e-6)
        assert set(got["scores"]) == set(want["scores"])
    single = client.post("/v1/sentiment", json={"text": texts[0]}).json()["results"]
    assert len(single) == 1 and single[0]["label"] == expect[0]["label"]


def test_translate_with_beam_and_n_best(client, mt_run):
    import nlpseq

    res = client.post("/v1/translate", json={"texts": ["Ein Hund rennt.", ""], "beam": 3, "n_best": 2})
    assert res.status_code == 200, res.text
    results = res.json()["results"]
    want = nlpseq.pipeline("translation", model=mt_run)(["Ein Hund rennt."], beam=3)
    assert results[0]["translation"] == want[0]["translation"]
    assert len(results[0]["n_best"]) == 2
    assert results[1]["translation"] == ""  # an empty line gives an empty translation


def test_health_models_and_schema(client, served):
    assert client.get("/healthz").json()["status"] == "ok"
    models = client.get("/v1/models").json()["models"]
    assert {m["endpoint"] for m in models} == {"/v1/sentiment", "/v1/translate"}
    assert next(m for m in models if m["endpoint"] == "/v1/sentiment")["labels"] == served["sentiment"].labels
    schema = client.get("/openapi.json").json()
    assert {"/v1/sentiment", "/v1/translate", "/healthz", "/v1/models"} <= set(schema["paths"])
    assert "<form" in client.get("/").text


@pytest.mark.parametrize("body, status, needle", [
    ({"texts": ["x"] * 9}, 413, "max_texts"),
    ({"text": "x" * 201}, 413, "max_chars"),
    ({"text": "   "}, 422, "empty"),
    ({"texts": []}, 422, "empty"),
    ({"text": "a", "texts": ["b"]}, 422, "exactly one"),
    ({}, 422, "exactly one"),
    ({"texts": [3]}, 422, "texts.0"),
    ({"text": "fine", "colour": "red"}, 422, "colour"),
    ({"text": "fine", "phrases": True}, 422, "tree model"),
])
def test_sentiment_bad_requests_get_a_named_error(client, body, status, needle):
    res = client.post("/v1/sentiment", json=body)
    assert res.status_code == status, res.text
    assert needle in res.json()["error"]
    if status == 413:
        assert res.json()["limit"] == needle


@pytest.mark.parametrize("body, status, needle", [
    ({"text": "Ein Hund.", "beam": 7}, 413, "max_beam"),
    ({"text": "Ein Hund.", "beam": 0}, 422, "beam"),
    ({"text": "Ein Hund.", "beam": 2, "n_best": 3}, 422, "n_best"),
])
def test_translate_bad_requests_get_a_named_error(client, body, status, needle):
    res = client.post("/v1/translate", json=body)
    assert res.status_code == status, res.text
    assert needle in res.json()["error"]


def test_malformed_and_oversized_bodies(client):
    res = client.post("/v1/sentiment", content=b'{"text": ', headers={"content-type": "application/json"})
    assert res.status_code == 422 and "malformed JSON" in res.json()["error"]
    res = client.post("/v1/sentiment", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert res.status_code == 422 and "JSON object" in res.json()["error"]
    big = b'{"text": "' + b"a" * 5000 + b'"}'
    res = client.post("/v1/sentiment", content=big, headers={"content-type": "application/json"})
    assert res.status_code == 413 and res.json()["limit"] == "max_body_bytes"

    def chunks():  # no Content-Length: the limit is enforced as the body streams in
        for _ in range(10):
            yield b"a" * 1000

    res = client.post("/v1/sentiment", content=chunks(), headers={"content-type": "application/json"})
    assert res.status_code == 413 and res.json()["limit"] == "max_body_bytes"
    assert client.post("/v1/sentiment", json={"text": "still serving"}).status_code == 200


def test_missing_model_is_404(tiny_run, served):
    with TestClient(create_app({"sentiment": served["sentiment"]})) as c:
        res = c.post("/v1/translate", json={"text": "Ein Hund."})
        assert res.status_code == 404 and "--translate" in res.json()["error"]


def test_tree_model_labels_every_phrase_and_draws_it(served):
    with TestClient(create_app({"sentiment": served["trees"]})) as c:
        tree = "(3 (2 A) (3 (3 good) (2 film)))"
        plain = c.post("/v1/sentiment", json={"text": tree}).json()["results"][0]
        assert "phrases" not in plain and "svg" not in plain
        full = c.post("/v1/sentiment", json={"text": tree, "phrases": True, "render": True}).json()["results"][0]
        assert [p["text"] for p in full["phrases"]][-1] == "A good film"
        assert len(full["phrases"]) == 5 and full["svg"].startswith("<svg")
        res = c.post("/v1/sentiment", json={"text": "a raw sentence"})
        assert res.status_code == 422 and "parse tree" in res.json()["error"]
        res = c.post("/v1/sentiment", json={"text": "(3 (2 A) (7 film)"})
        assert res.status_code == 422 and "unbalanced" in res.json()["error"]
        # any bracketing is read for its shape: a parser's labels are not used
        res = c.post("/v1/sentiment", json={"text": "(S (NP A) (NN film))"})
        assert res.status_code == 200 and res.json()["results"][0]["tree"].count("(") == 3


def test_a_parser_lets_the_tree_model_answer_raw_text(rntn_run, shape_run):
    served = load_served("sentiment", rntn_run, in_process=True, parser=shape_run)
    with TestClient(create_app({"sentiment": served})) as c:
        (model,) = c.get("/v1/models").json()["models"]
        assert model["parser"] == shape_run.name and model["task"] == "tree_sentiment"
        ans = c.post("/v1/sentiment", json={"text": "the acting is very good .", "phrases": True}).json()["results"][0]
        assert len(ans["phrases"]) == 2 * 6 - 1 and ans["phrases"][-1]["text"] == "the acting is very good ."
        res = c.post("/v1/sentiment", json={"text": "?!"})
        assert res.status_code == 422 and "punctuation" in res.json()["error"]


def test_a_slow_model_gives_503_and_the_service_keeps_serving(served):
    release = threading.Event()
    fast = served["sentiment"]

    def slow(texts, **options):
        if "slow" in texts:
            release.wait(10)
        return fast.answer(texts, **options)

    model = ServedModel("slow", "sentiment", "rnn_classifier", fast.labels, slow)
    with TestClient(create_app({"sentiment": model}, Limits(timeout_s=2.0))) as c:
        t0 = time.perf_counter()
        res = c.post("/v1/sentiment", json={"text": "slow"})
        assert res.status_code == 503 and "timeout_s" in res.json()["error"]
        assert time.perf_counter() - t0 < 4.5  # answered at the timeout, not when the model finishes
        assert c.get("/healthz").status_code == 200  # the event loop is free while the model is stuck
        release.set()
        assert c.post("/v1/sentiment", json={"text": "quick"}).status_code == 200


def test_a_dead_model_process_is_restarted_a_bounded_number_of_times(tiny_run):
    served = load_served("sentiment", tiny_run, max_restarts=1)
    with TestClient(create_app({"sentiment": served})) as c:
        assert c.post("/v1/sentiment", json={"text": "fine"}).status_code == 200
        served.answer._proc.kill()
        served.answer._proc.join(5)
        res = c.post("/v1/sentiment", json={"text": "fine"})  # the next request starts it again
        assert res.status_code == 200 and c.get("/healthz").json()["models"]["sentiment"]["restarts"] == 1
        served.answer._proc.kill()
        served.answer._proc.join(5)
        res = c.post("/v1/sentiment", json={"text": "fine"})
        assert res.status_code == 503 and "max_restarts 1" in res.json()["error"] and res.headers["retry-after"]
        assert c.get("/healthz").status_code == 200


def test_past_max_queue_a_request_gets_429_at_once(served):
    release = threading.Event()
    fast = served["sentiment"]

    def slow(texts, **options):
        release.wait(10)
        return fast.answer(texts, **options)

    model = ServedModel("slow", "sentiment", "rnn_classifier", fast.labels, slow)
    with TestClient(create_app({"sentiment": model}, Limits(max_queue=2, max_batch=1))) as c:
        waiting = [threading.Thread(target=c.post, args=("/v1/sentiment",), kwargs={"json": {"text": "a"}})
                   for _ in range(2)]
        for t in waiting:
            t.start()
        deadline = time.time() + 5
        while c.get("/healthz").json()["models"]["sentiment"]["waiting"] < 2 and time.time() < deadline:
            time.sleep(0.01)
        t0 = time.perf_counter()
        res = c.post("/v1/sentiment", json={"text": "b"})
        assert res.status_code == 429 and res.json()["limit"] == "max_queue" and res.headers["retry-after"] == "1"
        assert time.perf_counter() - t0 < 1.0  # refused at once, not at the timeout
        release.set()
        for t in waiting:
            t.join(10)
        assert c.post("/v1/sentiment", json={"text": "c"}).status_code == 200  # the queue drained
        assert c.get("/healthz").json()["models"]["sentiment"]["refused"] == 1

def _post_raw(c, endpoint: str, body: str):
    # A JSON escape such as \ud800 decodes to a lone surrogate: text no encoder or tokenizer takes.
    return c.post(endpoint, content=body.encode("ascii"), headers={"content-type": "application/json"})


@pytest.mark.parametrize("endpoint, body, field", [
    ("/v1/translate", '{"text": "Ein \\ud800 Hund"}', "text"),
    ("/v1/translate", '{"texts": ["Ein Hund.", "\\udc80"]}', "texts.1"),
    ("/v1/sentiment", '{"texts": ["good", "bad \\ud800"]}', "texts.1"),
])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, endpoint, body, field):
    res = _post_raw(client, endpoint, body)
    assert res.status_code == 422, res.text
    assert res.json()["error"].startswith(f"{field}: not valid Unicode") and "retry-after" not in res.headers
    assert client.get("/healthz").json()["models"]["translate"]["restarts"] == 0


def test_a_lone_surrogate_to_a_tree_model_is_a_422_as_tree_and_as_raw_text(served, rntn_run, shape_run):
    parsed = load_served("sentiment", rntn_run, in_process=True, parser=shape_run)
    for model in (served["trees"], parsed):
        with TestClient(create_app({"sentiment": model})) as c:
            for body in ('{"text": "(3 (2 A) (3 \\ud800))"}', '{"text": "a \\ud800 film", "phrases": true}'):
                res = _post_raw(c, "/v1/sentiment", body)
                assert res.status_code == 422 and res.json()["error"].startswith("text: not valid Unicode"), res.text


def test_a_deep_tree_is_answered_without_walks_that_grow_with_depth_times_size(rntn_run, monkeypatch):
    from nltk import Tree

    tree = right_branching(400)  # 799 nodes: within the model's data.max_nodes, 400 levels deep

    def refuse(*args, **kwargs):
        raise AssertionError("a walk whose cost grows with depth x size")

    # Tree.height and Tree.subtrees recurse down every subtree, again for each node they are asked about.
    monkeypatch.setattr(Tree, "height", refuse)
    monkeypatch.setattr(Tree, "subtrees", refuse)
    served = load_served("sentiment", rntn_run, in_process=True)
    with TestClient(create_app({"sentiment": served}, Limits(max_chars=10_000))) as c:
        res = c.post("/v1/sentiment", json={"text": tree, "phrases": True})
    assert res.status_code == 200, res.text
    phrases = res.json()["results"][0]["phrases"]
    assert len(phrases) == 799 and phrases[-1]["text"] == " ".join(f"w{i}" for i in range(1, 401))
    texts = [p["text"] for p in phrases]  # post-order: every leaf down the spine, then the phrases back up
    assert texts[:2] == ["w1", "w2"] and texts[399:401] == ["w400", "w399 w400"]
    assert texts[-2] == " ".join(f"w{i}" for i in range(2, 401))


def test_one_request_may_not_ask_for_more_than_max_request_chars(served):
    with TestClient(create_app({"sentiment": served["trees"]}, Limits(max_request_chars=20_000))) as c:
        res = c.post("/v1/sentiment", json={"texts": [right_branching(160)] * 24})
    assert res.status_code == 413 and res.json()["limit"] == "max_request_chars"
