#!/usr/bin/env python3
"""Held-out accuracy of `softmax train` + `softmax evaluate` on real CSV files, next to the
scikit-learn pipeline that does the same preprocessing:

    ColumnTransformer(numeric: SimpleImputer(mean) + StandardScaler,
                      categorical: SimpleImputer(constant "missing") + OneHotEncoder(handle_unknown="ignore"))
    + LogisticRegression(C = 1 / (lambda * m))          # m: training rows used
                                                        # (2 / (lambda * m) for two classes)

With two classes scikit-learn fits one weight vector w (binomial), softmax two (w1, w2):
the softmax optimum has w1 = -w2 = w/2, so its penalty (lambda/2)(|w1|^2 + |w2|^2) is
(lambda/4)|w|^2, the binomial penalty of C = 2 / (lambda * m). Same optimum, same predictions.

The column kinds come from the model softmax wrote, so both sides use the same columns.
Rows are split by a seeded shuffle (25 % held out); the split files are written next to
the output, header included, rows as they are in the file.

Usage: python3 realdata_compare.py SOFTMAX_BINARY [--lambda 1e-4] [--seed 0]
Needs: pip install scikit-learn pandas palmerpenguins vega_datasets
"""
import argparse, json, os, random, subprocess, sys, tempfile

import palmerpenguins, vega_datasets
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]
PENGUINS = os.path.join(os.path.dirname(palmerpenguins.__file__), "data")
VEGA = os.path.join(os.path.dirname(vega_datasets.__file__), "_data")
CASES = [
    ("penguins.csv: species", f"{PENGUINS}/penguins.csv", "species", ["--missing", "mean"]),
    ("penguins.csv: island", f"{PENGUINS}/penguins.csv", "island", ["--missing", "mean"]),
    ("penguins.csv: sex (drop)", f"{PENGUINS}/penguins.csv", "sex", ["--missing", "drop"]),
    ("penguins-raw.csv: Species", f"{PENGUINS}/penguins-raw.csv", "Species",
     ["--missing", "mean", "--ignore", "studyName,Sample Number,Individual ID,Date Egg,Comments"]),
    ("seattle-weather.csv: weather", f"{VEGA}/seattle-weather.csv", "weather", ["--ignore", "date"]),
]


def split(path, seed, directory):
    """Writes train.csv and test.csv with a seeded 75/25 split of the data lines."""
    with open(path, newline="") as f:
        lines = f.read().splitlines(keepends=True)
    header, rows = lines[0], [line for line in lines[1:] if line.strip()]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = len(rows) * 3 // 4
    paths = []
    for name, part in (("train.csv", order[:cut]), ("test.csv", order[cut:])):
        paths.append(os.path.join(directory, name))
        with open(paths[-1], "w", newline="") as f:
            f.write(header + "".join(rows[i] if rows[i].endswith("\n") else rows[i] + "\n" for i in sorted(part)))
    return paths


def softmax_accuracy(binary, train, test, label, flags, lam, directory):
    model = os.path.join(directory, "model.json")
    run = subprocess.run([binary, "train", train, "--label", label, "--lambda", str(lam), "-o", model,
                          "--json", "--quiet"] + flags, capture_output=True, text=True, check=True)
    summary = json.loads(run.stdout)
    evaluation = subprocess.run([binary, "evaluate", model, test, "--json"], capture_output=True, text=True, check=True)
    with open(model) as f:
        inputs = json.load(f).get("inputs")
    return json.loads(evaluation.stdout)["accuracy"], summary, inputs


def sklearn_accuracy(train, test, label, inputs, rows, lam, drop):
    read = dict(keep_default_na=False, na_values=NA, dtype=str)
    frames = [pd.read_csv(p, **read) for p in (train, test)]
    numeric = [c["name"] for c in inputs["columns"] if c["kind"] == "numeric"]
    categorical = [c["name"] for c in inputs["columns"] if c["kind"] == "categorical"]
    used = numeric + categorical + [label]
    for i, frame in enumerate(frames):
        frame = frame[used].copy()
        if drop:
            frame = frame.dropna()
        frame = frame[frame[label].notna()]
        frame[numeric] = frame[numeric].astype(float)
        frames[i] = frame
    train_frame, test_frame = frames
    assert len(train_frame) == rows, (len(train_frame), rows)
    binary = train_frame[label].nunique() == 2
    c = (2.0 if binary else 1.0) / (lam * rows)
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
    ])
    model = Pipeline([("prep", prep),
                      ("fit", LogisticRegression(C=c, max_iter=100000, tol=1e-10))])
    model.fit(train_frame[numeric + categorical], train_frame[label])
    return model.score(test_frame[numeric + categorical], test_frame[label])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--lambda", dest="lam", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra", default="", help="more softmax train flags, e.g. '--tolerance 1e-8'")
    a = ap.parse_args()
    print(f"| data: label | train rows | features | softmax held-out acc | scikit-learn held-out acc | difference |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for name, path, label, flags in CASES:
        with tempfile.TemporaryDirectory() as directory:
            train, test = split(path, a.seed, directory)
            ours, summary, inputs = softmax_accuracy(a.binary, train, test, label, flags + a.extra.split(), a.lam, directory)
            theirs = sklearn_accuracy(train, test, label, inputs, summary["rows"], a.lam, "drop" in flags)
            print(f"| {name} | {summary['rows']} | {summary['features']} | {ours:.4f} | {theirs:.4f} | {ours - theirs:+.4f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
