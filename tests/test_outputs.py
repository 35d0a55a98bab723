"""The executor's output hook (autograder/outputs.py): consecutive prints join as in Jupyter, budgets hold."""
import nbformat
from nbclient import NotebookClient

from autograder.outputs import OutputBudget


class Client(OutputBudget, NotebookClient):
    pass


def _msg(kind: str, **content) -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {"msg_id": "run-1"}, "content": content}


def _client() -> Client:
    client = Client(nbformat.v4.new_notebook())
    client.clear_before_next_output = False   # as nbclient sets it before each cell
    client.restart_output_budget()
    return client


def test_one_print_split_into_several_messages_is_one_line():
    """The kernel flushes its stdout on a timer: under load `print("planted", "now")` can arrive in pieces."""
    client, outs = _client(), []
    for piece in ("planted", " ", "now", "\n"):
        client.output(outs, _msg("stream", name="stdout", text=piece), None, 0)
    assert [(o.output_type, o.name, o.text) for o in outs] == [("stream", "stdout", "planted now\n")]


def test_streams_join_only_when_nothing_comes_between():
    client, outs = _client(), []
    client.output(outs, _msg("stream", name="stdout", text="a\n"), None, 0)
    client.output(outs, _msg("stream", name="stderr", text="warning\n"), None, 0)
    client.output(outs, _msg("stream", name="stdout", text="b\n"), None, 0)
    client.output(outs, _msg("display_data", data={"text/plain": "plot"}, metadata={}), None, 0)
    client.output(outs, _msg("stream", name="stdout", text="c\n"), None, 0)
    assert [(o.output_type, o.get("name"), o.get("text")) for o in outs] == [
        ("stream", "stdout", "a\n"), ("stream", "stderr", "warning\n"), ("stream", "stdout", "b\n"),
        ("display_data", None, None), ("stream", "stdout", "c\n")]


def test_joined_prints_still_count_against_the_cell_budget():
    client, outs = _client(), []
    client.max_output = 10
    for _ in range(4):
        client.output(outs, _msg("stream", name="stdout", text="xxxx"), None, 0)
    assert len(outs) == 1
    assert outs[0].text == "xxxxxxxxxx\n[output truncated: more than 10 characters in this cell]\n"


def test_errors_count_against_the_budgets_and_a_cell_keeps_one():
    """A 1.9 MB error message passes the output channel's size limit; forged error messages can come by the
    thousand. Over the budget an error is shortened, and a cell keeps at most one such error."""
    client, outs = _client(), []
    client.max_output = 10_000
    big = "A" * 1_900_000
    client.output(outs, _msg("error", ename="ValueError", evalue=big, traceback=[f"ValueError: {big}"]), None, 0)
    for _ in range(1000):
        client.output(outs, _msg("error", ename="ValueError", evalue=big, traceback=[big]), None, 0)
    assert len(outs) == 1 and outs[0].ename == "ValueError"
    kept = len(outs[0].evalue) + sum(map(len, outs[0].traceback))
    assert kept < 12_000 and "the rest cut" in outs[0].evalue
    small, outs2 = _msg("error", ename="KeyError", evalue="'x'", traceback=["KeyError: 'x'"]), []
    client.output(outs2, small, None, 1)   # the notebook's budget is not spent: a small error in another cell stays
    assert [(o.ename, o.evalue) for o in outs2] == [("KeyError", "'x'")]
