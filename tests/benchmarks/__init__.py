"""Tests of the benchmark harness's measuring clients against the real servers."""
