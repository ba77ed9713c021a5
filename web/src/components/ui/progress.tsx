import { cn } from '@/lib/utils';

export interface ProgressProps {
  value: number;
  label: string;
  className?: string;
  indicatorClassName?: string;
}

/** A determinate progress bar (0–100) with an accessible name. */
export function Progress({ value, label, className, indicatorClassName }: ProgressProps) {
  const clamped = Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0));
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(clamped)}
      className={cn('relative h-2.5 w-full overflow-hidden rounded-full bg-secondary', className)}
    >
      <div
        className={cn('h-full bg-primary transition-[width] duration-300 ease-out', indicatorClassName)}
        style={{ width: `${clamped}%` }}
      />
    </div>
  );
}
