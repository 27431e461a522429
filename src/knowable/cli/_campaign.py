"""``knowable campaign``: init, propose, ingest, status, export and report.

Every sub-command opens the campaign database given by ``--db`` (a SQLite file
path, or an SQLAlchemy URL such as ``postgresql+psycopg://user@host/db``; the
environment variable ``KNOWABLE_CAMPAIGN_DB`` sets the default).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ._options import check_choice
from ._output import make_console
from ._tables import read_table

__all__ = ["campaign_app"]

campaign_app = typer.Typer(
    help="Persisted experiment campaigns: propose a batch, measure it, ingest the results.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="KNOWABLE_CAMPAIGN_DB",
        help="SQLite file or SQLAlchemy URL of the campaign.",
    ),
]


def _write_csv_atomically(frame, out: Path) -> None:  # type: ignore[no-untyped-def]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(out)


@campaign_app.command("init")
def init_command(
    candidates: Annotated[
        Path, typer.Option("--candidates", help="CSV or Parquet table, one row per candidate.")
    ],
    id_column: Annotated[str, typer.Option("--id-column", help="Column of unique ids.")],
    db: DbOption = "campaign.sqlite",
    features: Annotated[
        str | None,
        typer.Option("--features", help="Comma-separated feature columns (default: all others)."),
    ] = None,
    target: Annotated[
        str, typer.Option("--target", help="Name of the measured column in results files.")
    ] = "y",
    seed: Annotated[int, typer.Option("--seed", help="Campaign seed.")] = 0,
    members: Annotated[
        int, typer.Option("--members", help="Ensemble members of the model refitted each round.")
    ] = 5,
    max_epochs: Annotated[int, typer.Option("--max-epochs", help="Training epochs at most.")] = 200,
) -> None:
    """Create a campaign database holding the candidate pool."""
    from knowable.campaign import Campaign

    frame = read_table(candidates, "candidates")
    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    camp = Campaign.create(
        db,
        frame,
        id_column=id_column,
        features=names,
        target=target,
        seed=seed,
        model_params={"n_members": members, "max_epochs": max_epochs},
    )
    st = camp.status()
    make_console().print(
        f"created campaign {st['database']}: {st['n_candidates']} candidates, "
        f"{st['n_features']} features, target {target!r}"
    )


@campaign_app.command("propose")
def propose_command(
    db: DbOption = "campaign.sqlite",
    batch: Annotated[int, typer.Option("--batch", help="Candidates to propose.")] = 32,
    strategy: Annotated[
        str,
        typer.Option("--strategy", help="Acquisition strategy (knowable acquire names, discobax)."),
    ] = "power-bald",
    out: Annotated[Path, typer.Option("--out", help="CSV of the proposed batch.")] = Path(
        "batch.csv"
    ),
    seed: Annotated[
        int | None, typer.Option("--seed", help="Round seed (default: from the campaign seed).")
    ] = None,
    round_index: Annotated[
        int | None,
        typer.Option(
            "--round",
            help="The round to create; if it exists with the same batch and strategy it is "
            "written out again instead of proposing twice.",
        ),
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Temperature of stochastic strategies.")
    ] = 1.0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar while fitting.")
    ] = True,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="Where the ensemble members are refitted: local (processes) or ray (needs "
            "knowable[ray]; starts a local Ray unless --address). Same proposal either way.",
        ),
    ] = "local",
    workers: Annotated[
        int, typer.Option("--workers", help="Ensemble members refitted at once.")
    ] = 1,
    address: Annotated[
        str | None,
        typer.Option("--address", help="With --backend ray: the cluster to join (e.g. auto)."),
    ] = None,
) -> None:
    """Fit the model to the measurements so far and propose the next batch."""
    check_choice(backend, "--backend", ("local", "ray"))
    if workers < 1:
        raise ValueError(f"--workers must be at least 1; got {workers}.")
    from knowable.campaign import Campaign

    camp = Campaign(db)
    prop = camp.propose(
        batch,
        strategy,
        seed=seed,
        round_index=round_index,
        temperature=temperature,
        verbose=progress,
        backend=backend,
        workers=workers,
        ray_address=address,
    )
    _write_csv_atomically(prop.table, out)
    what = "existing round" if prop.reused else "round"
    make_console().print(
        f"{what} {prop.round_index}: {len(prop.table)} candidates by {prop.strategy} "
        f"(seed {prop.seed}) written to {out}"
    )


@campaign_app.command("ingest")
def ingest_command(
    results: Annotated[Path, typer.Argument(help="CSV or Parquet of measured results.")],
    db: DbOption = "campaign.sqlite",
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Record new values for already measured candidates."),
    ] = False,
) -> None:
    """Record measured results (the id column and the target column)."""
    from knowable.campaign import Campaign

    res = Campaign(db).ingest(results, replace=replace)
    console = make_console()
    if res.already_ingested:
        console.print(f"{results} was already ingested (same content); nothing changed")
        return
    console.print(
        f"ingested {results}: {res.n_new} new, {res.n_replaced} replaced, "
        f"{res.n_unchanged} unchanged"
    )


@campaign_app.command("status")
def status_command(
    db: DbOption = "campaign.sqlite",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Summarise the campaign: candidates, rounds, measurements."""
    from rich.table import Table

    from knowable.campaign import Campaign

    camp = Campaign(db)
    st = camp.status()
    console = make_console()
    if as_json:
        console.print_json(json.dumps(st))
        return
    for key in ("database", "n_candidates", "n_rounds", "n_measured", "n_pending", "n_unproposed"):
        console.print(f"{key}: {st[key]}")
    if st["best"]:
        console.print(f"best: {st['best']['id']} = {st['best']['value']:.6g}")
    rounds = camp.rounds()
    if len(rounds):
        table = Table("round", "strategy", "batch", "measured", "trained on", "model")
        for r in rounds.itertuples():
            table.add_row(
                str(r.round),
                r.strategy,
                str(r.batch_size),
                str(r.n_measured),
                str(r.n_training),
                r.model_checksum[:12] if isinstance(r.model_checksum, str) else "-",
            )
        console.print(table)


@campaign_app.command("export")
def export_command(
    db: DbOption = "campaign.sqlite",
    out: Annotated[Path, typer.Option("--out", help="Output CSV.")] = Path("campaign.csv"),
    features: Annotated[bool, typer.Option("--features", help="Include feature columns.")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Export every measurement (replaced ones too).")
    ] = False,
) -> None:
    """Write every candidate with its round, scores and current measurement (or the history)."""
    from knowable.campaign import Campaign

    camp = Campaign(db)
    frame = camp.history() if history else camp.export(features=features)
    _write_csv_atomically(frame, out)
    make_console().print(f"wrote {len(frame)} rows to {out}")


@campaign_app.command("report")
def report_command(
    db: DbOption = "campaign.sqlite",
    out: Annotated[Path, typer.Option("--out", help="Output HTML file.")] = Path("report.html"),
    hit_threshold: Annotated[
        float | None,
        typer.Option("--hit-threshold", help="|y| at or above which a result is a hit."),
    ] = None,
) -> None:
    """Write one self-contained HTML report (figures embedded)."""
    from knowable.campaign import Campaign, write_report

    path = write_report(Campaign(db), out, hit_threshold=hit_threshold)
    make_console().print(f"report written to {path}")
