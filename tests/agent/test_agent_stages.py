"""agent/check_stages.py, the build's test that each stage of the agent
uses only the libraries it may: it must fail on a stage that includes a
forbidden header or whose objects call a forbidden library, and pass on
one that does neither. Real objects, compiled and archived here."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, 'agent', 'check_stages.py')
CC = shutil.which('cc') or 'gcc'   # the compiler that builds the agent


def stage(tmp_path, name, source):
    """A stage folder holding one .c file, and its static library."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / 'part.c').write_text(source)
    obj, lib = tmp_path / (name + '.o'), tmp_path / ('lib' + name + '.a')
    subprocess.run([CC, '-c', '-o', str(obj), '-x', 'c', '-'], input=source, text=True, check=True)
    subprocess.run(['ar', 'rcs', str(lib), str(obj)], check=True)
    return str(folder), str(lib)


def check(*stages):
    args = [sys.executable, CHECK, '--nm', shutil.which('nm')]
    for name, folder, lib, forbidden in stages:
        args += ['--stage', name, folder, lib, forbidden]
    return subprocess.run(args, capture_output=True, text=True)


def test_a_stage_calling_a_forbidden_library_fails(tmp_path):
    folder, lib = stage(tmp_path, 'intake', '#include <sqlite3.h>\n'
                        'int open_it(sqlite3 **db) { return sqlite3_open(":memory:", db); }\n')
    r = check(('intake', folder, lib, 'sqlite3,microhttpd'))
    assert r.returncode == 1
    assert 'intake/part.c includes <sqlite3.h>' in r.stdout
    assert 'refers to sqlite3 (sqlite3_open)' in r.stdout


def test_the_same_stage_may_call_what_it_is_allowed(tmp_path):
    folder, lib = stage(tmp_path, 'store', '#include <sqlite3.h>\n'
                        'int open_it(sqlite3 **db) { return sqlite3_open(":memory:", db); }\n')
    r = check(('store', folder, lib, 'microhttpd,curl'))
    assert r.returncode == 0, r.stdout
    assert 'all 1 checked' in r.stdout


def test_an_unknown_library_name_is_an_error_not_a_pass(tmp_path):
    folder, lib = stage(tmp_path, 'base', 'int f(void) { return 1; }\n')
    r = check(('base', folder, lib, 'sqlite'))
    assert r.returncode == 1 and 'unknown library sqlite' in r.stdout
