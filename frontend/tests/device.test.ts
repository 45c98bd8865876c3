import { describe, expect, test } from "vitest";
import { deviceId } from "../src/device";

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(k: string): string | null {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.items.set(k, v);
  }
}

describe("deviceId", () => {
  test("is made once and kept", () => {
    const storage = new MemoryStorage();
    const id = deviceId(storage);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deviceId(storage)).toBe(id);
  });
  test("differs between browsers", () => {
    expect(deviceId(new MemoryStorage())).not.toBe(deviceId(new MemoryStorage()));
  });
  test("replaces a damaged one", () => {
    const storage = new MemoryStorage();
    storage.setItem("parley.device", "not valid!");
    const id = deviceId(storage);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(storage.getItem("parley.device")).toBe(id);
  });
  test("works without storage, and with storage that throws", () => {
    expect(deviceId(null)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const blocked = {
      getItem(): string | null {
        throw new Error("SecurityError");
      },
      setItem(): void {
        throw new Error("SecurityError");
      },
    };
    expect(deviceId(blocked)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
