"""A self-contained ``report.html``: the summary's numbers and the PNGs, embedded in base64."""

import base64
import html
import json
import os

__all__ = ["write_html"]

_CAPTIONS = {
    "magnification.png": (
        "Magnification factor sqrt(det G) of the decoder over the latent plane (colour, log "
        "scale): how much the decoder stretches a small latent area. Codes are coloured by "
        "class; red curves are geodesics (the discrete geodesics of the path-energy solver), "
        "white dashed lines the straight latent lines between the same codes."
    ),
    "strips.png": (
        "Decoded images along the geodesic (top, constant speed in image space) and along the "
        "straight latent line (bottom) of pair 1."
    ),
    "analogies.png": (
        "Analogies A:B :: C:D. D geodesic transports Log_A(B) parallel along the geodesic from "
        "A to C and shoots it from C (Shao et al. 2017); D linear is z_C + z_B - z_A."
    ),
    "curvature.png": (
        "Left: sectional curvature of random latent planes and scalar curvature at the codes. "
        "Right: mean absolute sectional curvature of the coordinate planes containing each "
        "latent axis (Shukla et al. 2019)."
    ),
    "separability.png": (
        "k-NN accuracy and silhouette score of the classes under geodesic and Euclidean "
        "latent distances."
    ),
}

_STYLE = """
body { font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #bbb; padding: 3px 8px; text-align: right; font-size: 0.9em; }
th { background: #e8eef4; } td.k { text-align: left; }
img { max-width: 100%; border: 1px solid #ddd; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #444; }
pre { background: #f6f6f6; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
"""


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "n/a"
    return html.escape(str(value))


def _table(rows, header):
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = [f'<td class="k">{html.escape(str(row[0]))}</td>']
        cells += [f"<td>{_fmt(v)}</td>" for v in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _image(path):
    with open(path, "rb") as handle:
        data = base64.b64encode(handle.read()).decode("ascii")
    return f'<img alt="{html.escape(os.path.basename(path))}" src="data:image/png;base64,{data}">'


def write_html(summary, images, path):
    """Write the report page.

    Parameters
    ----------
    summary : dict
        The content of ``summary.json``.
    images : dict of str to str
        File name -> path of the PNGs, embedded in this order.
    path : str
        Where to write ``report.html``.

    Returns
    -------
    path : str
    """
    meta = summary.get("run", {})
    lat = summary["latent"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>geomstats-gen latent geometry report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Latent geometry report</h1>",
        "<p>" + html.escape(
            f"Model {meta.get('model', '?')} on {meta.get('dataset', '?')}: latent dimension "
            f"{lat['latent_dim']}, {lat['n_codes']} codes of {lat['n_samples']} samples analysed; "
            f"plots show the {lat['plane']}."
        ) + "</p>",
    ]
    rows = [[k, v] for k, v in meta.items() if not isinstance(v, (dict, list))]
    if rows:
        parts += ["<h2>Run</h2>", _table(rows, ["setting", "value"])]
    units = lat.get("active_units")
    if units:
        parts.append("<h2>Latent dimensions</h2>")
        text = (f"Active: {units['active_dims']} of {lat['latent_dim']}. "
                + ("Collapsed (the decoder ignores them; geometry along them is not the "
                   f"data's): {units['collapsed_dims']}. " if units["collapsed_dims"] else "")
                + units["definition"] + f", threshold {units['threshold']:g}.")
        parts.append("<p>" + html.escape(text) + "</p>")
        kl = units.get("kl") or [None] * len(units["variance"])
        parts.append(_table(
            [[f"z{i + 1}", v, k, "active" if i in units["active_dims"] else "collapsed"]
             for i, (v, k) in enumerate(zip(units["variance"], kl))],
            ["dimension", "variance of posterior means", "mean KL (nats)", "status"],
        ))
    failed = summary.get("failed_steps") or {}
    if failed:
        parts.append("<h2>Partial report</h2>")
        parts.append("<p>These steps failed; their sections and figures are left out, the "
                     "others are complete.</p>")
        parts.append(_table([[step, error] for step, error in failed.items()],
                            ["step", "error"]))
    geo = summary.get("geodesics", {})
    ratio = summary.get("geodesic_to_linear_ratio", {})
    rows = [[f"pair {k + 1}: class {p['start_label']} to {p['end_label']}", p["geodesic_length"],
             p["linear_length"], p["ratio"]] for k, p in enumerate(geo.get("pairs", []))]
    if ratio.get("mean") is not None:
        rows.append([f"{ratio['n_pairs']} random pairs of codes", "", "",
                     f"mean {ratio['mean']:.4g} (min {ratio['min']:.4g}, max {ratio['max']:.4g})"])
    if rows:
        parts.append("<h2>Geodesics against straight lines</h2>")
        parts.append(_table(rows, ["pair", "geodesic length", "straight-line length", "ratio"]))
    curv = summary.get("curvature", {})
    if "sectional" in curv:
        parts.append("<h2>Curvature</h2>")
        parts.append(_table(
            [["sectional (random planes)"] + [curv["sectional"][k] for k in
                                              ("mean", "std", "min", "median", "max")],
             ["scalar"] + [curv["scalar"][k] for k in ("mean", "std", "min", "median", "max")]],
            ["quantity", "mean", "std", "min", "median", "max"],
        ))
        parts.append("<p>" + html.escape(curv.get("planes", "")) + "</p>")
    sep = summary.get("separability", {})
    if "knn_accuracy_geodesic" in sep:
        parts.append("<h2>Class separability</h2>")
        parts.append(_table(
            [[f"{sep['knn_neighbors']}-NN accuracy", sep["knn_accuracy_geodesic"],
              sep["knn_accuracy_euclidean"]],
             ["silhouette", sep["silhouette_geodesic"], sep["silhouette_euclidean"]]],
            ["measure", "geodesic", "Euclidean"],
        ))
        parts.append("<p>" + html.escape(sep["distance"]) + "</p>")
    warned = summary.get("warnings") or {}
    parts.append("<h2>Warnings</h2>")
    if warned:
        parts.append("<p>Warnings emitted during the analysis, per step and kind (the "
                     "numbers of a step with warnings may be less accurate).</p>")
        parts.append(_table(
            [[f"{step}: {kind}", entry["count"], " | ".join(entry["messages"])]
             for step, kinds in warned.items() for kind, entry in kinds.items()],
            ["step: kind", "count", "messages (first distinct ones)"],
        ))
    else:
        parts.append("<p>None: every solve converged and every check passed.</p>")
    parts.append("<h2>Figures</h2>")
    for name, image_path in images.items():
        parts.append("<figure>" + _image(image_path) + "<figcaption>"
                     + html.escape(_CAPTIONS.get(name, name)) + "</figcaption></figure>")
    parts.append("<h2>summary.json</h2><pre>" + html.escape(json.dumps(summary, indent=1))
                 + "</pre></body></html>")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
    return path
