import { Link } from 'react-router-dom';
import { Button, buttonClasses } from '@/components/ui/button';
import { displayName } from '@/lib/user';
import { useCurrentUser } from '../api/get-me';
import { useLogout } from '../api/logout';

/** The header's account corner: who is signed in and a sign-out button, or a sign-in link. */
export function AccountMenu() {
  const me = useCurrentUser();
  const logout = useLogout();
  if (me.isPending) return null;
  if (!me.data) {
    return (
      <Link to="/signin" className={buttonClasses('outline', 'sm')} data-testid="signin-link">
        Sign in
      </Link>
    );
  }
  const name = displayName(me.data);
  return (
    <div className="flex min-w-0 items-center gap-2">
      <span className="hidden max-w-[12rem] truncate text-sm text-muted-foreground sm:inline" title={me.data.email} data-testid="current-user">
        {name}
      </span>
      <Button
        variant="ghost"
        size="sm"
        onClick={() => logout.mutate()}
        disabled={logout.isPending}
        title={logout.isError ? 'Signing out failed; try again.' : undefined}
        data-testid="signout"
      >
        Sign out<span className="sr-only"> {name}</span>
      </Button>
    </div>
  );
}
