import { Badge } from '@/components/ui/badge';
import { cn } from '@/lib/utils';
import { VISIBILITIES, type Visibility } from '@/lib/video';

const LOOK: Record<Visibility, { label: string; hint: string }> = {
  public: { label: 'Public', hint: 'Listed in the library and search; anyone can watch it.' },
  unlisted: { label: 'Unlisted', hint: 'Not listed or searchable; anyone with the link can watch it.' },
  private: { label: 'Private', hint: 'Only you (and administrators) can find and watch it.' },
};

export function visibilityLabel(v: Visibility): string {
  return LOOK[v].label;
}

/** A small pill for unlisted and private videos; public ones need none. */
export function VisibilityBadge({ visibility, className }: { visibility: Visibility; className?: string }) {
  if (visibility === 'public') return null;
  return (
    <Badge tone={visibility === 'private' ? 'info' : 'neutral'} title={LOOK[visibility].hint} className={className} data-testid="visibility-badge" data-visibility={visibility}>
      {LOOK[visibility].label}
    </Badge>
  );
}

/** Public / Unlisted / Private as radio buttons, each with a line saying what it means. */
export function VisibilityField({
  name,
  value,
  onChange,
  disabled,
}: {
  /** The radio group's name; unique on the page. */
  name: string;
  value: Visibility;
  onChange: (v: Visibility) => void;
  disabled?: boolean;
}) {
  return (
    <fieldset className="space-y-2" disabled={disabled} data-testid={`${name}-visibility`}>
      <legend className="text-sm font-medium leading-none">Visibility</legend>
      <div className="grid gap-2 sm:grid-cols-3">
        {VISIBILITIES.map((v) => {
          const id = `${name}-visibility-${v}`;
          return (
            <label
              key={v}
              htmlFor={id}
              className={cn(
                'flex cursor-pointer gap-2 rounded-md border p-3 text-sm transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-ring',
                value === v ? 'border-primary bg-primary/5' : 'border-input hover:bg-accent/40',
                disabled && 'cursor-not-allowed opacity-60',
              )}
            >
              <input
                id={id}
                type="radio"
                name={name}
                value={v}
                checked={value === v}
                onChange={() => onChange(v)}
                aria-describedby={`${id}-hint`}
                className="mt-0.5 accent-[hsl(var(--primary))]"
              />
              <span>
                <span className="block font-medium">{LOOK[v].label}</span>
                <span id={`${id}-hint`} className="block text-xs text-muted-foreground">
                  {LOOK[v].hint}
                </span>
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}
