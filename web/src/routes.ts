/** Every screen of the console: its address, its title, and the chunk that holds it. */
import type { Operation } from "./api/client";
import type { RouteDef, ScreenModule } from "./router";
import * as auth from "./screens/auth";

const eager = (component: ScreenModule["default"]) => async (): Promise<ScreenModule> => ({ default: component });

export const ROUTES: RouteDef[] = [
  { pattern: "/signin", title: "Sign in", public: true, load: eager(auth.SignIn) },
  { pattern: "/signup", title: "Create your account", public: true, load: eager(auth.SignUp) },
  { pattern: "/accept-invite", title: "Join an account", public: true, anyone: true,
    load: () => import("./screens/account-links").then((m) => ({ default: m.AcceptInvite })) },
  { pattern: "/reset-password", title: "Choose a new password", public: true, anyone: true,
    load: () => import("./screens/account-links").then((m) => ({ default: m.ResetPassword })) },
  { pattern: "/verify-email", title: "Confirm your address", public: true, anyone: true,
    load: () => import("./screens/account-links").then((m) => ({ default: m.VerifyEmail })) },
  { pattern: "/sites", title: "Sites", load: () => import("./screens/sites") },
  { pattern: "/sites/:site", title: "Site and sectors", load: () => import("./screens/site") },
  { pattern: "/sites/:site/wordpress", title: "WordPress connection", load: () => import("./screens/wordpress") },
  { pattern: "/sites/:site/keywords", title: "Keywords", load: () => import("./screens/keywords") },
  { pattern: "/sites/:site/keywords/import", title: "Import keywords", load: () => import("./screens/keyword-import") },
  { pattern: "/sites/:site/clusters", title: "Clusters", load: () => import("./screens/clusters") },
  { pattern: "/sites/:site/ideas", title: "Ideas", load: () => import("./screens/ideas") },
  { pattern: "/sites/:site/content", title: "Articles", load: () => import("./screens/articles") },
  { pattern: "/sites/:site/content/:content", title: "Article editor", load: () => import("./screens/editor") },
  { pattern: "/sites/:site/calendar", title: "Publishing calendar", load: () => import("./screens/calendar") },
  { pattern: "/sites/:site/jobs", title: "Jobs", load: () => import("./screens/jobs") },
  { pattern: "/sites/:site/jobs/:job", title: "Job progress", load: () => import("./screens/job") },
  { pattern: "/sites/:site/automation", title: "Automation", load: () => import("./screens/automation") },
  { pattern: "/credits", title: "Credits", load: () => import("./screens/credits") },
  { pattern: "/billing", title: "Plans and billing", load: () => import("./screens/billing") },
  { pattern: "/users", title: "Users and roles", load: () => import("./screens/users") },
  { pattern: "/settings", title: "Account settings", load: () => import("./screens/settings") },
  { pattern: "/api-keys", title: "API keys", load: () => import("./screens/api-keys") },
  { pattern: "/audit", title: "Audit log", load: () => import("./screens/audit") },
  { pattern: "/notifications", title: "Notifications", load: () => import("./screens/notifications") },
  { pattern: "/webhooks", title: "Webhooks", load: () => import("./screens/webhooks") },
  { pattern: "/profile", title: "Your profile", load: () => import("./screens/profile") },
];

/** The site's sections, in the order of the work: keywords in, articles out. */
export const SITE_SECTIONS: [path: string, label: string][] = [
  ["", "Overview"],
  ["/wordpress", "WordPress"],
  ["/keywords", "Keywords"],
  ["/clusters", "Clusters"],
  ["/ideas", "Ideas"],
  ["/content", "Articles"],
  ["/calendar", "Calendar"],
  ["/jobs", "Jobs"],
  ["/automation", "Automation"],
];

/** The account's sections; one with an operation is listed only to roles the API lets call it. */
export const ACCOUNT_SECTIONS: [path: string, label: string, op?: Operation][] = [
  ["/sites", "Sites"],
  ["/credits", "Credits"],
  ["/billing", "Plans and billing"],
  ["/users", "Users and roles"],
  ["/settings", "Account settings"],
  ["/api-keys", "API keys", "GET /v1/api-keys"],
  ["/audit", "Audit log", "GET /v1/audit"],
  ["/notifications", "Notifications"],
  ["/webhooks", "Webhooks", "GET /v1/webhooks"],
  ["/profile", "Your profile"],
];
