/** One line of a plot. */
export interface PlotSeries {
  name: string;
  /** `[x, y]` points; non-finite values are skipped. */
  points: readonly (readonly [number, number])[];
  /** Optional shaded band `[x, low, high]` drawn under the line (for example mean ± std). */
  band?: readonly (readonly [number, number, number])[];
}

/** Options of {@link renderLinePlot}. */
export interface LinePlotOptions {
  title: string;
  series: readonly PlotSeries[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /**
   * Exponential smoothing weight in [0, 1) for noisy curves: each series is
   * drawn raw, faint, with its smoothed line over it ({@link smoothValues}).
   * 0 (default): raw only.
   */
  smoothing?: number;
  /**
   * Limits of the y axis that the data cannot cross, for example `[0, 1]`
   * for a rate or `[0, null]` for a count: the axis never shows impossible
   * values (a negative success rate) around its padding.
   */
  yBounds?: readonly [number | null, number | null];
}

/**
 * Debiased exponential moving average, as TensorBoard smooths scalars:
 * `m_t = w m_(t-1) + (1 - w) y_t`, shown as `m_t / (1 - w^t)` so the first
 * points are not pulled toward 0. Non-finite values are skipped (they keep
 * their place as NaN).
 *
 * @example
 * ```ts
 * smoothValues([1, 2, 3], 0.5); // [1, 1.6667, 2.4286]
 * ```
 */
export function smoothValues(values: readonly number[], weight: number): number[] {
  let last = 0;
  let count = 0;
  return values.map((value) => {
    if (!Number.isFinite(value)) return Number.NaN;
    last = last * weight + (1 - weight) * value;
    count++;
    return weight === 0 ? value : last / (1 - weight ** count);
  });
}

/** Colors that stay apart for the color-blind (Okabe and Ito 2008). */
export const plotColors = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#d55e00',
  '#cc79a7',
  '#56b4e9',
  '#f0e442',
  '#000000',
];

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Up to about `count` round tick values covering `[low, high]` (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step =
    [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ??
    10 * power;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  // Two decimals so that neighbouring ticks (1.05e-4, 1.1e-4) never print the same.
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(4)));
}

/**
 * A line plot as an inline SVG string: axes with round ticks, one polyline
 * and one circle per finite point for each series, an optional shaded band,
 * optionally a smoothed line over the faint raw one, y limits the data cannot
 * cross, and a legend in its own band above the frame. Needs no script or stylesheet, so it renders from `file://`.
 * The root `<svg>` carries `data-points` (the number of points drawn), which
 * the browser test counts. With no finite point it draws the frame and
 * "no data".
 *
 * @example
 * ```ts
 * const svg = renderLinePlot({ title: 'Reward', series: [{ name: 'mean', points: [[1, 0.2], [2, 0.5]] }] });
 * ```
 */
export function renderLinePlot(options: LinePlotOptions): string {
  const width = options.width ?? 520;
  // As many legend columns (up to 3) as the longest name allows at about 5.5 px a character.
  const longestName = Math.max(0, ...options.series.map((entry) => entry.name.length));
  const legendColumns = Math.max(
    1,
    Math.min(3, Math.floor((width - 68) / (longestName * 5.5 + 24))),
  );
  const legendRows = Math.ceil(options.series.length / legendColumns);
  // The legend has its own band above the frame, so it never covers a line.
  const legendHeight = legendRows * 14;
  const height = (options.height ?? 260) + legendHeight;
  const margin = { left: 56, right: 12, top: 28 + legendHeight, bottom: 40 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const series = options.series.map((entry) => ({
    ...entry,
    points: entry.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
    band: (entry.band ?? []).filter(([x, low, high]) => [x, low, high].every(Number.isFinite)),
  }));
  const xs = series.flatMap((entry) => [
    ...entry.points.map(([x]) => x),
    ...entry.band.map(([x]) => x),
  ]);
  const ys = series.flatMap((entry) => [
    ...entry.points.map(([, y]) => y),
    ...entry.band.flatMap(([, low, high]) => [low, high]),
  ]);
  const pointCount = series.reduce((sum, entry) => sum + entry.points.length, 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" data-points="${pointCount}" aria-label="${escapeHtml(options.title)}">`,
  );
  parts.push(`<title>${escapeHtml(options.title)}</title>`);
  parts.push(
    `<text x="${margin.left}" y="18" class="plot-title">${escapeHtml(options.title)}</text>`,
  );
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" class="plot-frame"/>`,
  );
  if (pointCount === 0) {
    parts.push(
      `<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight / 2}" text-anchor="middle" class="plot-empty">no data</text></svg>`,
    );
    return parts.join('');
  }
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (xMax === xMin) {
    xMin -= 1;
    xMax += 1;
  }
  if (yMax === yMin) {
    const pad = Math.abs(yMin) > 0 ? Math.abs(yMin) * 0.1 : 1;
    yMin -= pad;
    yMax += pad;
  } else {
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
  }
  const [lowerBound, upperBound] = options.yBounds ?? [null, null];
  if (lowerBound !== null && yMin < lowerBound) yMin = lowerBound;
  if (upperBound !== null && yMax > upperBound) yMax = upperBound;
  if (!(yMax > yMin)) yMax = yMin + 1;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y: number) => margin.top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;
  const fixed = (value: number) => value.toFixed(2);

  for (const tick of niceTicks(yMin, yMax)) {
    const y = fixed(sy(tick));
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" class="plot-grid"/>`,
    );
    parts.push(
      `<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" class="plot-tick">${formatTick(tick)}</text>`,
    );
  }
  // Steps and generations are whole numbers: no tick at 1.5.
  const wholeX = xs.every(Number.isInteger);
  for (const tick of niceTicks(xMin, xMax).filter((value) => !wholeX || Number.isInteger(value))) {
    const x = fixed(sx(tick));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 4}" class="plot-axis"/>`,
    );
    parts.push(
      `<text x="${x}" y="${margin.top + plotHeight + 16}" text-anchor="middle" class="plot-tick">${formatTick(tick)}</text>`,
    );
  }
  if (options.xLabel) {
    parts.push(
      `<text x="${margin.left + plotWidth / 2}" y="${height - 6}" text-anchor="middle" class="plot-label">${escapeHtml(options.xLabel)}</text>`,
    );
  }
  if (options.yLabel) {
    parts.push(
      `<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" class="plot-label">${escapeHtml(options.yLabel)}</text>`,
    );
  }
  series.forEach((entry, index) => {
    const color = plotColors[index % plotColors.length]!;
    if (entry.band.length > 1) {
      const upper = entry.band.map(([x, , high]) => `${fixed(sx(x))},${fixed(sy(high))}`);
      const lower = [...entry.band]
        .reverse()
        .map(([x, low]) => `${fixed(sx(x))},${fixed(sy(low))}`);
      parts.push(
        `<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
    const coordinates = entry.points.map(([x, y]) => `${fixed(sx(x))},${fixed(sy(y))}`);
    const smoothing = options.smoothing ?? 0;
    const smoothed = smoothing > 0 && entry.points.length > 2;
    if (coordinates.length > 1) {
      parts.push(
        `<polyline points="${coordinates.join(' ')}" fill="none" stroke="${color}" stroke-width="${smoothed ? 1 : 1.8}"${smoothed ? ' stroke-opacity="0.3"' : ''} class="plot-line${smoothed ? ' plot-raw' : ''}" data-series="${escapeHtml(entry.name)}"/>`,
      );
    }
    for (const [x, y] of entry.points) {
      parts.push(
        `<circle cx="${fixed(sx(x))}" cy="${fixed(sy(y))}" r="${entry.points.length > 60 || smoothed ? 1.2 : 2.4}" fill="${color}"${smoothed ? ' fill-opacity="0.35"' : ''} class="plot-point"><title>${escapeHtml(entry.name)}: ${formatTick(x)}, ${formatTick(y)}</title></circle>`,
      );
    }
    if (smoothed) {
      const values = smoothValues(
        entry.points.map(([, y]) => y),
        smoothing,
      );
      const line = entry.points.map(([x], at) => `${fixed(sx(x))},${fixed(sy(values[at]!))}`);
      parts.push(
        `<polyline points="${line.join(' ')}" fill="none" stroke="${color}" stroke-width="2" class="plot-smooth" data-series="${escapeHtml(entry.name)} (smoothed)"/>`,
      );
    }
    const legendX = margin.left + (index % legendColumns) * Math.floor(plotWidth / legendColumns);
    const legendY = 28 + 10 + Math.floor(index / legendColumns) * 14;
    parts.push(`<rect x="${legendX}" y="${legendY - 7}" width="10" height="3" fill="${color}"/>`);
    parts.push(
      `<text x="${legendX + 14}" y="${legendY - 2}" class="plot-legend">${escapeHtml(entry.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
