"""Model registry commands: ``vipml promote`` and ``vipml register``.

``train`` registers every model it logs as the ``challenger`` of the registered model
(default ``vipml``); ``promote`` moves ``champion`` to it when it is better, and batch jobs
score with ``--model models:/vipml@champion``. ``register`` logs a bundle saved earlier (with
``--no-tracking``, or when MLflow was down after training) as a new run and challenger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from vipml.bundle import load_model
from vipml.cli._app import command, console
from vipml.config import load_config
from vipml.data.io import read_transactions
from vipml.errors import ConfigError


@command("promote")
def promote(
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name", help="Registered model name [default: from the config, vipml]."
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="Metric logged by the training runs that decides "
            "[default: from the config, future_vip_average_precision]."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote the challenger even if it is not better.")
    ] = False,
    direction: Annotated[
        str,
        typer.Option(
            help="auto: Brier scores, losses and errors are minimised, everything else "
            "maximised; or max / min."
        ),
    ] = "auto",
    config: Annotated[Path | None, typer.Option(help="YAML config (its tracking section).")] = None,
) -> None:
    """Make the challenger the champion when its metric beats the champion's.

    Compares the metric logged by the runs behind the versions aliased `challenger` and
    `champion`, prints both sides, and moves the `champion` alias when the challenger is
    better (or with `--force`). Batch jobs then score with `--model models:/vipml@champion`.
    """
    from vipml import tracking  # lazy: importing mlflow takes seconds, only this command needs it

    if direction not in ("auto", "max", "min"):
        raise ConfigError(f"--direction {direction!r} is not one of 'auto', 'max', 'min'")
    cfg = load_config(config)
    name = model_name or cfg.tracking.registered_model
    chosen: Literal["auto", "max", "min"] = direction  # type: ignore[assignment]
    comparison = tracking.promote(
        name, metric or cfg.tracking.promote_metric, force=force, direction=chosen
    )
    for line in comparison.lines():
        console.print(line, soft_wrap=True)
    if comparison.promoted:
        console.print(
            f"champion: models:/{name}@champion = version {comparison.challenger_version}"
        )


@command("register")
def register(
    model: Annotated[Path, typer.Option(help="A saved model bundle folder.")],
    transactions: Annotated[
        str,
        typer.Option(
            help="Transactions the model was trained on (CSV, Parquet, a folder, or "
            "`cdnow` / `cdnow-sample`): data params and the pyfunc input example."
        ),
    ],
    experiment: Annotated[
        str | None, typer.Option(help="MLflow experiment [default: from the config, vipml].")
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option("--model-name", help="Registered model name [default: from the config]."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (column mapping and tracking section).")
    ] = None,
) -> None:
    """Log a saved bundle to MLflow as a new run and register it as the challenger.

    For a model trained with `--no-tracking`, or whose logging failed after training: the
    run gets the model's params, metrics, manifest and feature list, and the pyfunc model.
    """
    from vipml import tracking  # lazy: importing mlflow takes seconds, only this command needs it

    cfg = load_config(config)
    uri = tracking.check_tracking_reachable()
    bundle = load_model(model)
    tx = read_transactions(transactions, cfg.columns.transactions, cfg.input)
    name = model_name or cfg.tracking.registered_model
    run_config = getattr(bundle, "config", None) or cfg
    with tracking.tracked_run(
        tracking.resolve_experiment(experiment, cfg),
        run_name=f"register {Path(model).name}",
        config=run_config,
        command="register",
    ) as run:
        run.log_training(bundle, model, tx)
        logged = run.log_model_bundle(model, tx, registered_model=name)
    console.print(f"MLflow run {run.run_id} in experiment {run.experiment!r} at {uri}")
    console.print(
        f"registered {logged.registry_uri} as models:/{name}@{tracking.CHALLENGER}; "
        f"promote it with `vipml promote --model-name {name}`"
    )
