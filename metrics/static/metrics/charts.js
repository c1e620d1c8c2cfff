/* The metrics page's charts, drawn with uPlot (vendor/uPlot.iife.min.js, see
 * vendor/VENDOR.md) from the numbers the server wrote into
 * <script id="metrics-data" type="application/json">. Each chart takes the place of the
 * server-drawn SVG line in its <figure>; the data tables stay, so without JavaScript (or
 * if this fails) the page still says everything. Events are bound here: the page has no
 * inline handlers or scripts, which keeps a strict Content-Security-Policy possible. */
(function () {
  "use strict";

  const source = document.getElementById("metrics-data");
  if (!source || typeof window.uPlot !== "function") return;
  const data = JSON.parse(source.textContent);

  const CURRENT = "#2457d6";
  const PREVIOUS = "#7b8594";
  const HEIGHT = 220;
  // Binary units, labelled so, as imgwire_site/dashboard_format.py writes them.
  const UNITS = [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]];
  const number = new Intl.NumberFormat("en");
  // Whole steps only: half an upload is not a tick worth labelling.
  const WHOLE = [];
  for (let power = 1; power <= 1e15; power *= 10) WHOLE.push(power, 2 * power, 5 * power);
  // uPlot's time-axis formats (its own default says "11/4" and "3pm"): day before month
  // and a 24-hour clock, as the data tables write them. Columns: the tick step in
  // seconds, the tick's text, then the second line added when the year, month, day,
  // hour, minute or second changes, and uPlot's mode flag.
  const DAY = 86400;
  const TIME_TICKS = [
    [365 * DAY, "{YYYY}", null, null, null, null, null, null, 1],
    [28 * DAY, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [DAY, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
    [60, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
  ];

  function humanBytes(value) {
    const sign = value < 0 ? "-" : "";
    const size = Math.abs(value);
    for (const [unit, factor] of UNITS) {
      if (size >= factor) {
        const amount = size / factor;
        const text = amount >= 100 ? amount.toFixed(0) : amount.toFixed(1).replace(/\.0$/, "");
        return sign + text + " " + unit;
      }
    }
    return sign + size + (size === 1 ? " byte" : " bytes");
  }

  function shown(kind, value) {
    if (value == null) return "no requests";
    if (kind === "bytes") return humanBytes(value);
    if (kind === "percent") return value + "%";
    return number.format(value);
  }

  function line(className, text) {
    const element = document.createElement("div");
    element.className = className;
    element.textContent = text;
    return element;
  }

  // uPlot has a cursor but no floating tooltip: this plugin shows the hovered bucket.
  function tooltip(series) {
    let tip;
    return {
      hooks: {
        init(plot) {
          tip = document.createElement("div");
          tip.className = "metrics-tooltip";
          tip.hidden = true;
          plot.over.appendChild(tip);
        },
        setCursor(plot) {
          const index = plot.cursor.idx;
          if (index == null || plot.cursor.left < 0) {
            tip.hidden = true;
            return;
          }
          tip.replaceChildren(
            line("when", data.labels[index]),
            line("current", "This period: " + shown(series.kind, series.current[index])),
            line(
              "previous",
              "Previous (" + data.previousLabels[index] + "): " +
                shown(series.kind, series.previous[index]),
            ),
          );
          tip.hidden = false;
          // Stay inside the plot area, flipping to the left of the cursor near the right
          // edge: a tooltip past the edge would make a phone's page scroll sideways.
          const room = plot.over.clientWidth;
          tip.style.maxWidth = room + "px";
          const width = tip.offsetWidth;
          const left = plot.cursor.left + 12 + width <= room
            ? plot.cursor.left + 12
            : Math.max(0, plot.cursor.left - 12 - width);
          const top = Math.min(
            Math.max(0, plot.cursor.top - tip.offsetHeight - 8),
            Math.max(0, plot.over.clientHeight - tip.offsetHeight),
          );
          tip.style.left = left + "px";
          tip.style.top = top + "px";
        },
      },
    };
  }

  function axisSize(plot, values) {
    if (!values) return 40;
    const longest = values.reduce((most, value) => Math.max(most, String(value).length), 0);
    return Math.ceil(longest * 7 + 18);
  }

  function options(series, width) {
    const percent = series.kind === "percent";
    return {
      width: width,
      height: HEIGHT,
      tzDate: (seconds) => window.uPlot.tzDate(new Date(seconds * 1e3), data.tz),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      plugins: [tooltip(series)],
      scales: {
        // One bucket is a single point: give the axis a day around it.
        x: { time: true, range: (plot, min, max) => (min === max ? [min - 43200, max + 43200] : [min, max]) },
        y: {
          range: (plot, min, max) =>
            percent ? [0, 100] : window.uPlot.rangeNum(0, Math.max(max, 1), 0.1, true),
        },
      },
      axes: [
        {
          stroke: "#5b6777",
          grid: { stroke: "#eef1f5" },
          ticks: { stroke: "#d9dee5" },
          values: TIME_TICKS,
        },
        {
          stroke: "#5b6777",
          grid: { stroke: "#eef1f5" },
          ticks: { stroke: "#d9dee5" },
          label: series.unit || undefined,
          labelSize: series.unit ? 20 : 0,
          incrs: series.kind === "count" ? WHOLE : undefined,
          size: axisSize,
          values: (plot, ticks) => ticks.map((tick) => number.format(tick)),
        },
      ],
      series: [
        {},
        { label: "This period", stroke: CURRENT, width: 2, fill: "rgba(36, 87, 214, 0.08)" },
        { label: "Previous period", stroke: PREVIOUS, width: 1.5, dash: [6, 4] },
      ],
    };
  }

  function draw(figure, series) {
    const caption = figure.querySelector("figcaption");
    const scale = (values) => values.map((value) => (value == null ? null : value / series.factor));
    const plot = new window.uPlot(
      options(series, figure.clientWidth),
      [data.x, scale(series.current), scale(series.previous)],
      (self, init) => {
        figure.insertBefore(self.root, caption);
        init();
      },
    );
    const title = document.getElementById("chart-" + series.name);
    plot.root.setAttribute("role", "img");
    plot.root.setAttribute(
      "aria-label",
      (title ? title.textContent : series.name) +
        ": this period and the previous one; the data table below has every value.",
    );
    figure.dataset.drawn = "";
    new ResizeObserver(() => {
      if (figure.clientWidth && figure.clientWidth !== plot.width) {
        plot.setSize({ width: figure.clientWidth, height: HEIGHT });
      }
    }).observe(figure);
  }

  // A bucket without requests has no hit ratio (the datasets write 0): leave a gap there
  // rather than a fall to 0%.
  const requests = data.series.find((series) => series.name === "requests");
  for (const series of data.series) {
    if (series.kind !== "percent" || !requests) continue;
    series.current = series.current.map((v, i) => (requests.current[i] ? v : null));
    series.previous = series.previous.map((v, i) => (requests.previous[i] ? v : null));
  }

  for (const series of data.series) {
    const figure = document.querySelector('.metrics-chart[data-series="' + series.name + '"]');
    if (figure) draw(figure, series);
  }
})();
