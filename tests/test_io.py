"""Tests for graphclust.io: reading points/labels and atomic writing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from graphclust._validation import GraphclustError
from graphclust.io import (
    PointsData,
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    read_labels,
    read_points,
    write_json,
    write_labels_csv,
)


def write(path, text):
    path.write_text(text)
    return path


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp" in p.name or p.name.startswith("."))


# ------------------------------------------------------------------------------ reading points

def test_csv_with_header(tmp_path):
    d = read_points(write(tmp_path / "a.csv", "x,y,z\n1,2,3\n4,5,6.5\n-1,0,1e3\n"))
    assert isinstance(d, PointsData)
    assert d.columns == ["x", "y", "z"]
    assert d.X.dtype == np.float64 and d.X.flags.c_contiguous
    np.testing.assert_array_equal(d.X, [[1, 2, 3], [4, 5, 6.5], [-1, 0, 1000]])
    assert d.truth is None and d.source == str(tmp_path / "a.csv")
    assert (d.n_samples, d.n_features) == (3, 3)


def test_csv_without_header(tmp_path):
    d = read_points(write(tmp_path / "a.csv", "1,2\n3,4\n5,6\n"))
    assert d.columns == ["x1", "x2"]
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])


def test_tsv_and_comments_and_blank_lines(tmp_path):
    d = read_points(write(tmp_path / "a.tsv", "# made by hand\na\tb\n1\t2\n\n3\t4\n"))
    assert d.columns == ["a", "b"]
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])


@pytest.mark.parametrize("text", ["1 2  3\n4\t5 6\n", "1,2,3\n4,5,6\n", "1\t2\t3\n4\t5\t6\n"])
def test_txt_delimiter_sniffed(tmp_path, text):
    d = read_points(write(tmp_path / "a.txt", text))
    np.testing.assert_array_equal(d.X, [[1, 2, 3], [4, 5, 6]])


def test_whitespace_txt_with_header(tmp_path):
    d = read_points(write(tmp_path / "a.txt", "u v\n0.5 1\n2 3\n"))
    assert d.columns == ["u", "v"]


def test_quoted_csv(tmp_path):
    d = read_points(write(tmp_path / "a.csv", '"x","y"\n"1","2"\n"3","4"\n'))
    assert d.columns == ["x", "y"]
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4]])


def test_npy_and_npz(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", X)
    np.testing.assert_array_equal(read_points(tmp_path / "a.npy").X, X)
    np.savez(tmp_path / "b.npz", X=X, other=X * 2)
    np.testing.assert_array_equal(read_points(tmp_path / "b.npz").X, X)
    np.savez(tmp_path / "c.npz", points=X.astype(np.float32), y=np.arange(6))
    np.testing.assert_array_equal(read_points(tmp_path / "c.npz").X, X)  # the only 2-D array
    np.savez(tmp_path / "d.npz", A=X, B=X)
    with pytest.raises(GraphclustError, match=r"several 2-D numeric arrays \(A \(6, 2\).*B \(6, 2\)"):
        read_points(tmp_path / "d.npz")


def test_non_numeric_column_named_with_truth_hint(tmp_path):
    path = write(tmp_path / "iris.csv", "sl,sw,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n7,8,setosa\n")
    with pytest.raises(GraphclustError) as info:
        read_points(path)
    msg = str(info.value)
    assert "'species'" in msg and "'setosa'" in msg and "--truth species" in msg


def test_non_numeric_column_by_position(tmp_path):
    path = write(tmp_path / "a.csv", "1,2,a\n3,4,b\n5,6,a\n")
    with pytest.raises(GraphclustError, match=r"column 3 is not numeric \(e\.g\. 'a'.*--truth 3"):
        read_points(path)


def test_wrong_delimiter_hint(tmp_path):
    with pytest.raises(GraphclustError, match="delimiter ';'"):
        read_points(write(tmp_path / "a.csv", "1;2\n3;4\n"))


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("", "empty"),
        ("\n\n# only a comment\n", "empty"),
        ("x,y\n", "only a header"),
        ("1,2\n", "only 1 data row"),
        ("x,y\n1,2\n", "only 1 data row"),
        ("x,y\n1,2\n3,4,5\n", r"line 3 has 3 field\(s\) but the header has 2"),
    ],
)
def test_bad_shapes(tmp_path, text, pattern):
    with pytest.raises(GraphclustError, match=pattern):
        read_points(write(tmp_path / "a.csv", text))


def test_one_dimensional_npy(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(5.0))
    with pytest.raises(GraphclustError, match=r"1-D.*reshape\(-1, 1\)"):
        read_points(tmp_path / "a.npy")


def test_object_npy_is_refused_cleanly(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[1, "a"], [2, "b"]], dtype=object), allow_pickle=True)
    with pytest.raises(GraphclustError, match="Python objects"):
        read_points(tmp_path / "a.npy")


def test_nan_rows_are_named(tmp_path):
    path = write(tmp_path / "a.csv", "x,y\n1,2\n3,nan\n5,6\n,8\n9,inf\n")
    with pytest.raises(GraphclustError) as info:
        read_points(path)
    msg = str(info.value)
    assert "3 row(s): 1, 3, 4" in msg
    assert "file line(s) 3, 5, 6" in msg
    np.save(tmp_path / "b.npy", np.array([[1.0, 2], [np.nan, 1], [0, 0]]))
    with pytest.raises(GraphclustError, match=r"1 row\(s\): 1\b"):
        read_points(tmp_path / "b.npy")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_points(tmp_path / "nope.csv")
    assert isinstance(info.value, GraphclustError)
    assert "not found" in str(info.value) and "nope.csv" in str(info.value)
    assert "\n" not in str(info.value)


def test_directory_and_unsupported_type(tmp_path):
    with pytest.raises(GraphclustError, match="is a directory"):
        read_points(tmp_path)
    with pytest.raises(GraphclustError, match=r"unsupported file type '\.xlsx'"):
        read_points(write(tmp_path / "a.xlsx", "1,2\n"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permission bits")
def test_unreadable_file(tmp_path):
    path = write(tmp_path / "a.csv", "1,2\n3,4\n")
    path.chmod(0)
    try:
        with pytest.raises(PermissionError, match="permission denied"):
            read_points(path)
    finally:
        path.chmod(0o644)


def test_larger_csv_fast_path_matches(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 7))
    np.savetxt(tmp_path / "a.csv", X, delimiter=",", header=",".join(f"f{i}" for i in range(7)), comments="")
    d = read_points(tmp_path / "a.csv")
    np.testing.assert_allclose(d.X, X)
    assert d.columns[0] == "f0"


# ------------------------------------------------------------------------------ truth labels

def test_truth_string_column(tmp_path):
    path = write(tmp_path / "a.csv", "x,species,y\n1,b,2\n3,a,4\n5,b,6\n")
    d = read_points(path, truth="species")
    assert d.columns == ["x", "y"]
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(d.truth, [1, 0, 1])
    assert d.truth_names == ("a", "b")
    assert "species" in d.truth_source
    # case-insensitive and by 1-based position
    np.testing.assert_array_equal(read_points(path, truth="SPECIES").truth, [1, 0, 1])
    np.testing.assert_array_equal(read_points(path, truth="2").truth, [1, 0, 1])


def test_truth_numeric_column_without_header(tmp_path):
    d = read_points(write(tmp_path / "a.csv", "1,2,7\n3,4,7\n5,6,9\n"), truth="-1")
    np.testing.assert_array_equal(d.truth, [7, 7, 9])
    assert d.truth_names is None and d.X.shape == (3, 2)


def test_truth_column_ragged_rows_detected(tmp_path):
    with pytest.raises(GraphclustError, match="line 3 has 4 field"):
        read_points(write(tmp_path / "a.csv", "x,y,c\n1,2,a\n3,4,b,5\n"), truth="c")


def test_truth_npz_key(tmp_path):
    X = np.arange(10.0).reshape(5, 2)
    np.savez(tmp_path / "a.npz", X=X, y=np.array([0, 0, 1, 1, 2]))
    d = read_points(tmp_path / "a.npz", truth="y")
    np.testing.assert_array_equal(d.truth, [0, 0, 1, 1, 2])
    # without "X": the only 2-D array once the truth key is set aside
    np.savez(tmp_path / "b.npz", data=X, labels=np.array(list("aabbc")))
    d = read_points(tmp_path / "b.npz", truth="labels")
    np.testing.assert_array_equal(d.truth, [0, 0, 1, 1, 2])
    assert d.truth_names == ("a", "b", "c")


def test_truth_separate_files(tmp_path):
    X = np.arange(8.0).reshape(4, 2)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array([1.0, 1.0, 0.0, 2.0]))
    d = read_points(tmp_path / "X.npy", truth=str(tmp_path / "y.npy"))
    assert d.truth.dtype == np.int64
    np.testing.assert_array_equal(d.truth, [1, 1, 0, 2])
    np.savez(tmp_path / "y.npz", labels=np.array([3, 3, 4, 4]))
    np.testing.assert_array_equal(read_points(tmp_path / "X.npy", truth=tmp_path / "y.npz").truth, [3, 3, 4, 4])
    # one label per line, with and without header; strings are encoded
    write(tmp_path / "l1.txt", "label\n0\n1\n1\n0\n")
    np.testing.assert_array_equal(read_points(tmp_path / "X.npy", truth=str(tmp_path / "l1.txt")).truth, [0, 1, 1, 0])
    write(tmp_path / "l2.txt", "cat\ndog\ndog\ncat\n")
    d = read_points(tmp_path / "X.npy", truth=str(tmp_path / "l2.txt"))
    np.testing.assert_array_equal(d.truth, [0, 1, 1, 0])
    assert d.truth_names == ("cat", "dog")
    write(tmp_path / "l3.csv", "kind\ncat\ndog\ndog\ncat\n")  # all text: header recognised by length
    np.testing.assert_array_equal(read_points(tmp_path / "X.npy", truth=str(tmp_path / "l3.csv")).truth, [0, 1, 1, 0])


def test_truth_file_column(tmp_path):
    np.save(tmp_path / "X.npy", np.arange(6.0).reshape(3, 2))
    meta = write(tmp_path / "meta.csv", "id,group,score\n1,a,0.5\n2,b,0.1\n3,a,0.7\n")
    d = read_points(tmp_path / "X.npy", truth=f"{meta}:group")
    np.testing.assert_array_equal(d.truth, [0, 1, 0])
    with pytest.raises(GraphclustError, match=r"columns \(id, group, score\).*:COLUMN"):
        read_points(tmp_path / "X.npy", truth=str(meta))
    with pytest.raises(GraphclustError, match="no column 'nope'"):
        read_labels(f"{meta}:nope")


def test_truth_length_mismatch(tmp_path):
    np.save(tmp_path / "X.npy", np.arange(8.0).reshape(4, 2))
    np.save(tmp_path / "y.npy", np.array([0, 1, 1]))
    with pytest.raises(GraphclustError, match=r"3 labels but the input has 4 points"):
        read_points(tmp_path / "X.npy", truth=str(tmp_path / "y.npy"))
    np.savez(tmp_path / "a.npz", X=np.zeros((4, 2)), y=np.arange(5))
    with pytest.raises(GraphclustError, match=r"5 entries but the input has 4 points"):
        read_points(tmp_path / "a.npz", truth="y")


def test_truth_not_found(tmp_path):
    path = write(tmp_path / "a.csv", "x,y,label\n1,2,a\n3,4,b\n")
    with pytest.raises(GraphclustError, match=r"not a column of .*columns: x, y, label.*not an existing file"):
        read_points(path, truth="lbl")
    with pytest.raises(FileNotFoundError):
        read_points(path, truth=str(tmp_path / "missing.npy"))


def test_truth_nan_labels_rejected(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((3, 2)))
    np.save(tmp_path / "y.npy", np.array([0.0, np.nan, 1.0]))
    with pytest.raises(GraphclustError, match="NaN labels at 1 position"):
        read_points(tmp_path / "X.npy", truth=str(tmp_path / "y.npy"))


# ------------------------------------------------------------------------------ output

def test_check_output_dir_creates(tmp_path):
    out = check_output_dir(tmp_path / "a" / "b")
    assert out.is_dir() and out.is_absolute()
    assert list(out.iterdir()) == []  # the probe file is gone


def test_check_output_dir_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(GraphclustError, match=r"cannot write to output directory .*Choose another --out\."):
        check_output_dir(tmp_path / "file" / "out")
    with pytest.raises(GraphclustError, match="not a directory"):
        check_output_dir(tmp_path / "file")


def test_atomic_writers(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    atomic_write_text(tmp_path / "a.txt", "again")
    assert (tmp_path / "a.txt").read_text() == "again"
    assert leftovers(tmp_path) == []
    if os.name == "posix":  # normal permissions (umask), not mkstemp's 0600
        umask = os.umask(0)
        os.umask(umask)
        assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_json_numpy_and_nan(tmp_path):
    obj = {"k": np.int64(3), "x": np.float32(0.5), "arr": np.array([1.0, np.nan]), "inf": float("inf"),
           "nested": [{"b": np.bool_(True)}], "path": tmp_path, 1: "int key"}
    write_json(tmp_path / "r.json", obj)
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert text.startswith('{\n  "k": 3')
    back = json.loads(text)
    assert back["arr"] == [1.0, None] and back["inf"] is None and back["nested"] == [{"b": True}]
    assert back["x"] == 0.5 and back["path"] == str(tmp_path) and back["1"] == "int key"


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "r.json"
    write_json(target, {"ok": 1})
    before = target.read_text()
    with pytest.raises(TypeError):
        # json fails on the object after having written the first keys to the temp file
        write_json(target, {"a": list(range(1000)), "bad": object()})
    assert target.read_text() == before
    assert leftovers(tmp_path) == []
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "new.txt") as fh:
            fh.write("partial")
            raise RuntimeError("crash")
    assert not (tmp_path / "new.txt").exists()
    assert leftovers(tmp_path) == []


def test_writer_into_missing_directory_is_clear(tmp_path):
    with pytest.raises(GraphclustError, match="cannot write"):
        atomic_write_text(tmp_path / "no" / "such" / "a.txt", "x")


def test_write_labels_csv(tmp_path):
    path = write_labels_csv(tmp_path / "labels.csv", np.array([0, 1, 1]),
                            extra_columns={"truth": ["a", "b", "b"], "score": np.array([0.5, np.nan, 1.0])})
    assert path.read_text() == "index,label,truth,score\n0,0,a,0.5\n1,1,b,\n2,1,b,1.0\n"
    write_labels_csv(tmp_path / "l2.csv", [2, 2], index=["p", "q"])
    assert (tmp_path / "l2.csv").read_text() == "index,label\np,2\nq,2\n"
    with pytest.raises(GraphclustError, match="has 2 values but there are 3"):
        write_labels_csv(tmp_path / "l3.csv", [0, 1, 2], extra_columns={"x": [1, 2]})
    assert leftovers(tmp_path) == []
    # round trip through read_points, with a string truth column
    write_labels_csv(tmp_path / "rt.csv", np.array([0, 1, 1]), extra_columns={"truth": ["a", "b", "b"]})
    d = read_points(tmp_path / "rt.csv", truth="truth")
    assert d.columns == ["index", "label"]
    np.testing.assert_array_equal(d.truth, [0, 1, 1])


def test_import_io_does_not_import_matplotlib():
    code = "import sys, graphclust.io; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
