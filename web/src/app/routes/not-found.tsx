import { Link } from 'react-router-dom';
import { PageHeading } from '@/components/page-heading';
import { buttonClasses } from '@/components/ui/button';

export function NotFoundRoute() {
  return (
    <div className="mx-auto max-w-md text-center">
      <PageHeading subtitle="There is no page at this address.">Page not found</PageHeading>
      <Link to="/videos" className={buttonClasses('default', 'md')}>
        Go to the library
      </Link>
    </div>
  );
}
