/**
 * Input rules shared by every resource, and the check-failure shape the engine shows. Every
 * failure names the property, the rule and the fix. By job:
 * - ./rules-inputs: reading a program's inputs (unknowns, typed reads, the inputs each kind takes, ids);
 * - ./rules-values: what a valid name, id, scope list, comment or value is;
 * - ./rules-account: check-time reads of the account, and their refusals as failures.
 */
export * from "./rules-inputs";
export * from "./rules-values";
export * from "./rules-account";
