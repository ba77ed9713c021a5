import { Link, Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { PageHeading } from '@/components/page-heading';
import { Card, CardContent } from '@/components/ui/card';
import { Spinner } from '@/components/ui/spinner';
import { authPath, safeNextPath, SignInForm, useCurrentUser } from '@/features/auth';

/** /signin?next=/path — signs in, then goes to `next` (a path on this site only). */
export function SignInRoute() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const me = useCurrentUser();
  const rawNext = params.get('next');
  const next = safeNextPath(rawNext);

  if (me.isPending) return <Spinner label="Checking your session" />;
  if (me.data) return <Navigate to={next} replace />;
  return (
    <div className="mx-auto max-w-md">
      <PageHeading subtitle="Sign in to upload videos and manage your own.">Sign in</PageHeading>
      <Card>
        <CardContent className="pt-4 sm:pt-6">
          <SignInForm onSignedIn={() => navigate(next, { replace: true })} />
        </CardContent>
      </Card>
      <p className="mt-4 text-center text-sm text-muted-foreground">
        No account yet?{' '}
        <Link to={authPath('signup', rawNext)} className="font-medium text-primary underline" data-testid="to-signup">
          Create one
        </Link>
      </p>
    </div>
  );
}
