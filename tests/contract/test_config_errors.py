"""Configuration mistakes stop `serve` with one clear line on stderr and no stack trace, even
with RUST_BACKTRACE set in the environment."""

import subprocess

from conftest import binary, clean_env, free_port


def serve_with(**settings) -> subprocess.CompletedProcess:
    env = clean_env()
    env.update(RUST_BACKTRACE="full", RUST_LIB_BACKTRACE="1", JQP_LISTEN=f"127.0.0.1:{free_port()}", **settings)
    return subprocess.run([binary(), "serve"], env=env, capture_output=True, text=True, timeout=60)


def assert_one_line(run: subprocess.CompletedProcess, *words: str) -> None:
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "backtrace" not in run.stderr.lower() and "panicked" not in run.stderr, run.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_a_client_key_without_a_name_is_one_line_naming_the_setting():
    run = serve_with(JQP_CLIENT_KEYS="research:abcdefgh12,secretkeywithoutname")
    assert_one_line(run, "JQP_CLIENT_KEYS", "entry 2", "name:")
    assert "secretkeywithoutname" not in run.stderr


def test_a_missing_client_keys_file_is_one_line_naming_the_file():
    run = serve_with(JQP_CLIENT_KEYS_FILE="/nonexistent/keys.txt")
    assert_one_line(run, "JQP_CLIENT_KEYS_FILE", "/nonexistent/keys.txt")


def test_a_bad_database_url_is_one_line():
    run = serve_with(DATABASE_URL="not a url", JQP_CLIENT_KEYS="a:abcdefgh12")
    assert_one_line(run, "DATABASE_URL")
    assert "not a url" not in run.stderr


def test_a_key_without_its_plan_is_one_line_naming_the_setting_and_its_values():
    run = serve_with(JQUANTS_API_KEY="a-real-looking-key", JQP_CLIENT_KEYS="a:abcdefgh12")
    assert_one_line(run, "JQUANTS_PLAN", "free, light, standard, premium")
    assert "a-real-looking-key" not in run.stderr
