/** The API's error shape, {"error": {code, message, details, request_id}}, as a thrown value. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static from(response: Response, body: unknown): ApiError {
    const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
    if (error && typeof error.code === "string" && typeof error.message === "string") {
      return new ApiError(response.status, error.code, error.message, error.details ?? {},
        (error.request_id as string | null) ?? response.headers.get("X-Request-Id"));
    }
    return new ApiError(response.status, `http_${response.status}`,
      `The API answered ${response.status} ${response.statusText || ""}`.trim() + ".",
      {}, response.headers.get("X-Request-Id"));
  }

  /** Per-field messages of a 422 (details: [{field, message}]). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(this.details)) {
      for (const d of this.details as { field?: string; message?: string }[]) {
        if (d.field && d.message) out[d.field] = d.message;
      }
    }
    return out;
  }
}

export function networkError(cause: unknown): ApiError {
  const error = new ApiError(0, "network_error",
    "The API did not answer. Check your connection (or that `make run` is still up) and try again.");
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/** What to tell a person about any thrown value. */
export function describe(error: unknown): { title: string; message: string; requestId?: string | null } {
  if (error instanceof ApiError) {
    const title = TITLES[error.status] ?? (error.status >= 500 ? "Something went wrong on our side" : "That did not work");
    return { title, message: error.message, requestId: error.requestId };
  }
  return { title: "Something went wrong in the console", message: String((error as Error)?.message ?? error) };
}

const TITLES: Record<number, string> = {
  0: "No connection",
  400: "The request was not understood",
  401: "Please sign in again",
  402: "Not enough credits or plan limit reached",
  403: "Your role cannot do this",
  404: "Not found",
  409: "This conflicts with the current state",
  413: "Too large",
  422: "Please check the form",
  429: "Too many attempts",
};
