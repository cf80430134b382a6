"""`medialens sku`: train (or remove) the SKU classifier that names the inventory service's objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from medialens.config import get_settings

sku_app = typer.Typer(
    help="The SKU classifier behind the inventory_counting service (trained on your labelled crops or boxes).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
console = Console()


@sku_app.command("train")
def train(
    dataset: Annotated[
        Path, typer.Argument(help="DATASET/<sku id>/*.jpg crops, or a COCO detection file (or a folder holding one)")
    ],
    epochs: Annotated[int, typer.Option(min=1, max=100_000, help="Gradient-descent steps.")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fit the SKU classifier on DATASET and write it (ONNX) into the model folder; the inventory_counting service
    uses it from its next request on."""
    from medialens.analyses.sku import DatasetError
    from medialens.analyses.sku import train as do_train
    from medialens.models.errors import ModelError

    try:
        report = do_train(dataset, get_settings(), epochs=epochs)
    except (DatasetError, ModelError) as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        out = {
            "classes": list(report.classes),
            "samples": report.samples,
            "train_accuracy": report.train_accuracy,
            "path": str(report.path),
            "not_seed_skus": report.unknown,
        }
        typer.echo(json.dumps(out))
        return
    console.print(
        f"trained {len(report.classes)} SKU classes on {report.samples} crops (training accuracy "
        f"{report.train_accuracy:.0%}) -> {report.path}"
    )
    if report.unknown:
        console.print(
            f"note: {len(report.unknown)} classes are not among the seed's 171 SKU ids: "
            f"{', '.join(report.unknown[:10])}"
        )


@sku_app.command("remove")
def remove() -> None:
    """Delete the trained classifier: inventory_counting answers with COCO classes again."""
    from medialens.analyses.sku import classifier_path

    path = classifier_path(get_settings())
    if not path.is_file():
        console.print("no SKU classifier is trained")
        raise typer.Exit(1)
    path.unlink()
    console.print(f"removed {path}")
