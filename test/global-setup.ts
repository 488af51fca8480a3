import { packedPackage } from "./rig/package";

/** Packs the built package once, before any test process starts; they inherit RIG_PACKAGE_TGZ. */
export default function setup(): void {
  process.env.RIG_PACKAGE_TGZ = packedPackage();
}
