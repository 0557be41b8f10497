"""A report as a PNG: latency over time and its histogram (matplotlib, a development dependency)."""


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (over_time, histogram) = plt.subplots(1, 2, figsize=(13, 4.5))
    for name, colour in (("ack_ms", "tab:blue"), ("neighbour_ms", "tab:orange")):
        series = result["series"][name]
        if series:
            over_time.scatter(
                [at for at, _ in series], [ms for _, ms in series], s=2, alpha=0.4, c=colour,
                label=name.replace("_ms", ""),
            )  # fmt: skip
            histogram.hist([ms for _, ms in series], bins=60, alpha=0.6, color=colour, label=name)
    over_time.set_xlabel("seconds")
    over_time.set_ylabel("latency (ms)")
    over_time.set_yscale("log")
    over_time.legend()
    histogram.set_xlabel("latency (ms)")
    histogram.set_yscale("log")
    histogram.legend()
    figure.suptitle(
        f"{result['players']} players, {result['move_rate']} moves/s each: "
        f"{result['moves_per_s']} acked moves/s; p99 ack {result['ack_ms']['p99']} ms, "
        f"p99 neighbour {result['neighbour_ms']['p99']} ms"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
