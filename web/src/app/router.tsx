import { createBrowserRouter, RouterProvider } from 'react-router-dom';
import { Layout } from './layout';
import { LibraryRoute } from './routes/library';
import { NotFoundRoute } from './routes/not-found';
import { UploadRoute } from './routes/upload';
import { WatchRoute } from './routes/watch';

// The server falls back to index.html for these paths, so deep links work.
const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: '/', element: <UploadRoute /> },
      { path: '/videos', element: <LibraryRoute /> },
      { path: '/videos/:id', element: <WatchRoute /> },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
