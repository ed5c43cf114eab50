"""Command line: ``python -m lenet train --preset seed_keras --epochs 20 --seed 0`` (or the ``lenet`` script).

    lenet train [--preset P] [--dataset D] [--epochs N] [--seed S] [--set FIELD=VALUE ...] [--force]
    lenet fetch mnist fashion_mnist      # find or download and verify datasets
    lenet sweep full                     # train every run of a profile (params/full.yaml), resumable
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from . import data, experiments


def _parse_assignment(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects FIELD=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    try:
        return name, json.loads(value)  # numbers, true/false, null
    except json.JSONDecodeError:
        return name, value  # plain strings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lenet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train one experiment (or load its recorded run)")
    tr.add_argument("--preset", default="seed_keras", choices=sorted(experiments.PRESETS))
    tr.add_argument("--dataset")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--seed", type=int)
    tr.add_argument("--set", dest="assignments", action="append", default=[], type=_parse_assignment,
                    metavar="FIELD=VALUE", help=f"any Experiment field: "
                    f"{', '.join(f.name for f in dataclasses.fields(experiments.Experiment))}")
    tr.add_argument("--force", action="store_true", help="retrain even if a recorded run exists")
    tr.add_argument("--data-dir", help="folder holding the dataset files (before $LENET_DATA_DIR)")
    tr.add_argument("--results-dir", help="where records go (default: results/ or $LENET_RESULTS_DIR)")

    fe = sub.add_parser("fetch", help="find or download, then verify datasets")
    fe.add_argument("datasets", nargs="+")
    fe.add_argument("--data-dir")

    sw = sub.add_parser("sweep", help="train every run of a profile (params/NAME.yaml); recorded runs are reused")
    sw.add_argument("profile", help="profile name (full, smoke) or path to a YAML file")
    sw.add_argument("--workers", type=int)
    sw.add_argument("--threads", type=int, help="threads per worker")
    sw.add_argument("--force", action="store_true")
    sw.add_argument("--data-dir")
    sw.add_argument("--results-dir")

    args = parser.parse_args(argv)
    try:
        if args.command == "sweep":
            from . import params, study, sweep

            profile = params.load_profile(args.profile)
            result = sweep.run_sweep(study.all_configs(profile), workers=args.workers or profile["workers"],
                                     threads_per_worker=args.threads, force=args.force,
                                     results_dir=args.results_dir, data_dir=args.data_dir)
            return 0 if result.ok else 1
        if args.command == "fetch":
            for name in args.datasets:
                ds = data.load(name, args.data_dir)
                print(f"{ds.name}: {len(ds.x_train):,} train / {len(ds.x_test):,} test, {ds.num_classes} classes")
                for file_name, info in ds.files.items():
                    print(f"  {info['path']}: {info['verified']}")
            return 0
        overrides = {k: v for k, v in (("dataset", args.dataset), ("epochs", args.epochs), ("seed", args.seed))
                     if v is not None}
        unknown = [name for name, _ in args.assignments
                   if name not in {f.name for f in dataclasses.fields(experiments.Experiment)}]
        if unknown:
            parser.error(f"unknown field(s) {unknown} in --set")
        overrides.update(dict(args.assignments))
        config = experiments.preset(args.preset, **overrides)
        from .train import run

        record = run(config, force=args.force, results_dir=args.results_dir, data_dir=args.data_dir)
        path, _ = experiments.run_paths(record.key, args.results_dir)
        print(f"record: {path}")
        return 0
    except (ValueError, FileNotFoundError) as exc:  # DataError is a ValueError
        print(f"lenet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
