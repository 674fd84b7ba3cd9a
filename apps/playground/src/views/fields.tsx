/** A descriptor's or syndrome's fields, as the backend's describe function explains them. */
import type { FieldView } from '../worker/engine.js';

/** A table of fields. */
export function Fields({ fields, label }: { fields: readonly FieldView[]; label: string }) {
  return (
    <table class="fields" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">field</th>
          <th scope="col">bits</th>
          <th scope="col">value</th>
          <th scope="col">meaning</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((f) => (
          <tr key={`${f.name}${f.bits}`}>
            <td>{f.name}</td>
            <td>
              <code>{f.bits}</code>
            </td>
            <td>
              <code>{f.value}</code>
            </td>
            <td>{f.meaning}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
