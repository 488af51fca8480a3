export * from "./error";
export * from "./request";
export * from "./secrets-store";
export * from "./workers";
