import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** Colours of overlaid runs, in order. */
export const runColours = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export interface ChartProps {
  title: string;
  steps: number[];
  /** One raw series per run. */
  raw: (number | null)[][];
  /** The smoothed series (same shape), or null when smoothing is off. */
  smoothed: (number | null)[][] | null;
  runNames: string[];
}

/**
 * One metric over steps, one line per run, drawn by uPlot (canvas, so ten
 * thousand points per line stay fast). Drag to zoom into a range of steps,
 * double-click to zoom out. With smoothing, the raw values stay as faint
 * lines under the smoothed ones.
 */
export function Chart(props: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomed = useRef(false);
  const shape = `${props.runNames.join('|')}:${props.smoothed !== null}`;
  const points = props.raw.reduce(
    (total, series) => total + series.filter((value) => value !== null).length,
    0,
  );

  const data = (): uPlot.AlignedData =>
    [props.steps, ...props.raw, ...(props.smoothed ?? [])] as uPlot.AlignedData;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const series: uPlot.Series[] = [{ label: 'step' }];
    props.runNames.forEach((name, index) => {
      const colour = runColours[index % runColours.length]!;
      series.push({
        label: props.smoothed ? `${name} (raw)` : name,
        stroke: props.smoothed ? `${colour}40` : colour,
        width: 1.5,
        spanGaps: true,
        points: { show: props.steps.length < 60 },
      });
    });
    if (props.smoothed) {
      props.runNames.forEach((name, index) => {
        series.push({
          label: name,
          stroke: runColours[index % runColours.length]!,
          width: 2,
          spanGaps: true,
          points: { show: false },
        });
      });
    }
    const instance = new uPlot(
      {
        width: Math.max(280, element.clientWidth || 420),
        height: 200,
        series,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, {}],
        legend: { show: props.runNames.length > 1 || props.smoothed !== null },
        cursor: { drag: { x: true, y: false, setScale: true } },
        hooks: {
          setSelect: [
            (self) => {
              if (self.select.width > 0) zoomed.current = true;
            },
          ],
        },
      },
      data(),
      element,
    );
    plot.current = instance;
    const unzoom = () => {
      zoomed.current = false;
    };
    element.addEventListener('dblclick', unzoom);
    return () => {
      element.removeEventListener('dblclick', unzoom);
      instance.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [shape]);

  useEffect(() => {
    // Keep a zoomed-in range while new steps arrive; follow the end otherwise.
    plot.current?.setData(data(), !zoomed.current);
  });

  return (
    <figure class="chart" data-metric={props.title} data-points={points}>
      <figcaption>{props.title}</figcaption>
      <div ref={container} />
    </figure>
  );
}
