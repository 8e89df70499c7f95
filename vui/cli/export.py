"""`vui export MODEL --format savedmodel|onnx|litert [--out DIR]`: a trained model as a network
in a portable format plus the JSON a runtime needs (vui.export), by default under
results/NAME.exports/FORMAT/, where `vui transcribe --runtime auto` looks for it."""
import argparse

from vui.export.bundle import FORMATS


def build_parser():
    parser = argparse.ArgumentParser(prog="vui export", description=__doc__)
    parser.add_argument("model", nargs="?", default=None,
                        help="results/NAME.keras or a run's name (default: the demo's model)")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="onnx",
                        help="the network's format (default onnx: vui transcribe's fastest)")
    parser.add_argument("--out", default=None,
                        help="export folder (default: results/NAME.exports/FORMAT)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from vui.cli.common import model_path
    from vui.export.writers import check_export_folder, export
    from vui.infer.recognizer import Recognizer
    from vui.infer.runtimes import default_export_dir
    path = model_path(args.model)
    out = check_export_folder(args.out or default_export_dir(path, args.fmt))  # before loading
    bundle = export(Recognizer.load(path), out, args.fmt)
    print(bundle.path)
    return 0
